/**
 * Keeps secrets out of what is stored and shown: replaces every occurrence of a secret value in the
 * strings of a JSON-like value (a step's output, a failure's message and details) with "[redacted]".
 * A last line of defence for providers that echo credentials back (e.g. a debug endpoint).
 *
 * An echo is rarely the bare value, so each secret is looked for in the forms an echo takes (see
 * `secretForms`): JSON-escaped, URL-encoded, base64 and base64url — of the secret alone and of any text
 * that contains it, as in `Basic base64(user:secret)` — and cut short at the end of a string (a body
 * clipped to a size, ending in "…" or not), where the tail left is the start of one of those forms.
 */

export const REDACTED = '[redacted]';

/** Values shorter than this are not redacted (they would blank out ordinary text such as "1" or "on"). */
const MIN_SECRET_LENGTH = 6;

/**
 * A string's tail counts as a cut secret from this many characters (or half the form, when shorter):
 * what is left unredacted at a cut is at most 5 characters of a secret's start.
 */
const MIN_PARTIAL = 6;

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

/**
 * The base64 characters that depend on `bytes` alone wherever they sit in a longer encoded text: one
 * run per alignment (the text before them 0, 1 or 2 bytes past a 3-byte group). The characters shared
 * with a neighbouring byte (at most 3 at the start, 2 at the end) are left out; they carry under 2 bytes.
 */
function base64Runs(bytes: Buffer): string[] {
  return [0, 1, 2].map((shift) => {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const total = shift + bytes.length;
    const end = Math.floor(total / 3) * 4 + [0, 1, 2][total % 3]!;
    return encoded.slice([0, 2, 3][shift], end);
  });
}

const toBase64Url = (s: string): string => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** Escapes every character outside ASCII as \uXXXX (what JSON encoders with an "ASCII only" option write). */
const asciiJson = (s: string, hex: (h: string) => string): string =>
  JSON.stringify(s)
    .slice(1, -1)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${hex(c.charCodeAt(0).toString(16).padStart(4, '0'))}`);

/** The forms in which `secret` may come back, itself first; at least MIN_SECRET_LENGTH / 2 characters each. */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const json = JSON.stringify(secret).slice(1, -1);
  const url = encodeURIComponent(secret);
  const base64 = bytes.toString('base64');
  const runs = base64Runs(bytes);
  const forms = [
    secret,
    // JSON: as JSON.stringify writes it, with "/" escaped (PHP's json_encode), and ASCII-only.
    json,
    json.replace(/\//g, '\\/'),
    JSON.stringify(json).slice(1, -1), // twice: a JSON text kept as a string (a clipped body, an echoed request body)
    asciiJson(secret, (h) => h),
    asciiJson(secret, (h) => h.toUpperCase()),
    // URL: a component, a form field (space as "+", URLSearchParams' set), lower-case hex, RFC 3986 strict, a whole URL.
    url,
    url.replace(/%20/g, '+'),
    new URLSearchParams({ s: secret }).toString().slice(2),
    url.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    url.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`), // RFC 3986 strict
    encodeURI(secret),
    // base64 and base64url: the secret alone (padding included), and within any longer text.
    base64,
    toBase64Url(base64),
    ...runs,
    ...runs.map(toBase64Url),
  ];
  return [...new Set(forms)].filter((f) => f.length >= MIN_SECRET_LENGTH / 2);
}

/** An auth header value: a scheme (letters) and one token. */
const SCHEME_AND_TOKEN = /^[A-Za-z]+\s+\S+$/;

/** `s` with its tail replaced when the tail (before a trailing "…" or U+FFFD of a cut) is the start of `form`. */
function redactCutTail(s: string, form: string): string {
  const cut = s.endsWith('…') || s.endsWith('\ufffd') ? 1 : 0;
  const end = s.length - cut;
  const least = Math.min(MIN_PARTIAL, Math.ceil(form.length / 2));
  const head = form.slice(0, least);
  // Candidate starts: where the form's first characters occur within the last form.length - 1 characters.
  for (let at = s.indexOf(head, Math.max(0, end - form.length + 1)); at !== -1 && at + least <= end; at = s.indexOf(head, at + 1)) {
    if (form.startsWith(s.slice(at, end))) return `${s.slice(0, at)}${REDACTED}${s.slice(end)}`;
  }
  return s;
}

/** What redact looks for, prepared once for a list of secrets. */
interface Matcher {
  /** Every form of every secret, longest first. */
  forms: string[];
  /** The forms whose start may be left at a cut, longest first. */
  tails: string[];
  /** The first 3 characters of every form: a text without any of them has nothing to redact (the common case, tested once). */
  heads: RegExp;
}

/**
 * Matchers by secret list: a step with a connection redacts its output on every call, with the same secrets.
 * Measured here (a 38-string output, 3 secrets): ~100 µs a call without this cache and the `heads` test, ~10 µs
 * with them (exact-match redaction of the bare values alone took ~13 µs).
 */
const matchers = new Map<string, Matcher>();

function matcherFor(secrets: readonly string[]): Matcher {
  const key = JSON.stringify(secrets);
  let m = matchers.get(key);
  if (m === undefined) {
    const longestFirst = (list: string[]): string[] => [...new Set(list)].sort((a, b) => b.length - a.length);
    const forms = longestFirst(secrets.flatMap(secretForms));
    // A whole auth header ("Bearer x") starts with a scheme, which is not secret: its forms are never taken
    // for a cut tail (a text ending in "Bearer" is ordinary); its token is a secret of its own (secretStrings).
    const tails = longestFirst(secrets.filter((s) => !SCHEME_AND_TOKEN.test(s)).flatMap(secretForms));
    const heads = [...new Set(forms.map((f) => f.slice(0, 3).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))];
    m = { forms, tails, heads: new RegExp(heads.join('|')) };
    if (matchers.size >= 1000) matchers.clear();
    matchers.set(key, m);
  }
  return m;
}

/** `value` with every occurrence of `secrets` (in any of their forms) in its strings and object keys replaced. Returns the same value when nothing matched. */
export function redact<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const { forms, tails, heads } = matcherFor(secrets);
  const inText = (s: string): string => {
    if (!heads.test(s)) return s;
    // The cut tail first: once a part of the secret (a word of it, say) is replaced, the tail is no longer its start.
    let out = s;
    for (const form of tails) out = redactCutTail(out, form);
    for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
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
