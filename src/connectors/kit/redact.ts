/**
 * Keeps secrets out of what is stored and shown: replaces every occurrence of a secret value in the
 * strings of a JSON-like value (a step's output, a failure's message and details) with "[redacted]".
 * A last line of defence for providers that echo credentials back (e.g. a debug endpoint).
 */

export const REDACTED = '[redacted]';

/** Values shorter than this are not redacted (they would blank out ordinary text such as "1" or "on"). */
const MIN_SECRET_LENGTH = 6;

/** The strings worth redacting among `values`, longest first (so a secret containing another is replaced whole). */
export function secretStrings(values: Iterable<unknown>): string[] {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= MIN_SECRET_LENGTH) out.add(v);
      // "Bearer <token>": the token alone may be echoed too (the scheme, first, is not secret).
      const parts = v.trim().split(/\s+/);
      for (const p of parts.slice(1)) if (p.length >= MIN_SECRET_LENGTH) out.add(p);
    } else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) visit(x);
  };
  for (const v of values) visit(v);
  return [...out].sort((a, b) => b.length - a.length);
}

/** `value` with every occurrence of `secrets` in its strings (and object keys) replaced. Returns the same value when nothing matched. */
export function redact<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const inText = (s: string): string => {
    let out = s;
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return inText(v);
    if (depth > 64 || typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[inText(k)] = walk(x, depth + 1);
    return out;
  };
  return walk(value, 0) as T;
}
