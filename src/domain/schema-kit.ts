/** Shared pieces for parsing definitions with zod: clean strings, keys, and zod issues as FieldIssues. */
import { z } from 'zod';
import type { FieldIssue } from './errors.js';
import { isKey, KEY_PATTERN } from './keys.js';
import { isCleanString } from './attributes.js';

/** A string of at most `max` characters with no U+0000 or unpaired surrogates (Postgres rejects them). */
export const text = (max: number, min = 0) =>
  z.string().min(min).max(max).check((ctx) => {
    if (!isCleanString(ctx.value)) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: 'must not contain U+0000 or unpaired surrogate characters', params: { code: 'invalid_string' } });
    }
  });

/** A key: ^[a-z][a-z0-9_]{0,62}$ (a custom check for the `invalid_key` sub-code; the pattern is its JSON Schema). */
export const key = z
  .string()
  .check((ctx) => {
    if (!isKey(ctx.value)) ctx.issues.push({ code: 'custom', input: ctx.value, message: `must match ${KEY_PATTERN.source}`, params: { code: 'invalid_key' } });
  })
  .meta({ pattern: KEY_PATTERN.source });

type Path = ReadonlyArray<PropertyKey>;

export function formatPath(path: Path): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(String(p)) ? `${i ? '.' : ''}${String(p)}` : `[${JSON.stringify(String(p))}]`))
    .join('');
}

function valueAt(input: unknown, path: Path): unknown {
  let v = input;
  for (const p of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** Edit distance counting a swap of two neighbours as one edit (for "did you mean"). */
function distance(a: string, b: string): number {
  let [prev, row] = [[] as number[], Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) next[j] = Math.min(next[j]!, prev[j - 2]! + 1);
    }
    [prev, row] = [row, next];
  }
  return row[b.length]!;
}

/** Turns zod issues into FieldIssues; `prefix` locates `input` inside the body, `known` are its property names. */
export function fromZod(error: z.ZodError, prefix: Path, input: unknown, known: readonly string[]): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    const path = formatPath([...prefix, ...issue.path]) || '(body)';
    const at = (code: string, message: string): FieldIssue[] => [{ path, code, message }];
    const what = (origin: string, n: number | bigint): string =>
      origin === 'string' ? `${n} characters` : origin === 'number' || origin === 'int' || origin === 'bigint' ? String(n) : `${n} item${n === 1 ? '' : 's'}`;
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((k) => {
          const near = known.find((x) => distance(x, k) <= (k.length <= 4 ? 1 : 2));
          return { path: formatPath([...prefix, ...issue.path, k]), code: 'unknown', message: `is not a known property${near ? ` (did you mean "${near}"?)` : ''}` };
        });
      case 'invalid_type':
        if (valueAt(input, issue.path) === undefined) return at('required', 'is required');
        return at('type', `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`);
      case 'too_big':
        return at('too_large', `must ${/^(number|int|bigint)$/.test(issue.origin) ? 'be' : 'have'} at most ${what(issue.origin, issue.maximum)}`);
      case 'too_small':
        if (issue.origin === 'string' && Number(issue.minimum) === 1) return at('too_small', 'must not be empty');
        return at('too_small', `must ${/^(number|int|bigint)$/.test(issue.origin) ? 'be' : 'have'} at least ${what(issue.origin, issue.minimum)}`);
      case 'invalid_value':
        return at('enum', `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`);
      case 'custom':
        return at(String((issue.params as { code?: unknown } | undefined)?.code ?? 'invalid'), issue.message);
      default:
        return at('invalid', issue.message);
    }
  });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

