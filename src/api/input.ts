/** Request parsing helpers: zod at the edge, errors from the catalogue. */
import type { z } from 'zod';
import { AppError, invalid, type ErrorCode, type FieldIssue } from '../domain/errors.js';
import { isKey } from '../domain/keys.js';

/** Parses `data` with `schema`; a mismatch is a 400 of `code` listing every field. */
export function parseWith<T extends z.ZodType>(schema: T, data: unknown, code: ErrorCode = 'VALIDATION_FAILED', prefix = ''): z.infer<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.map((i) => ({
    path: prefix + formatPath(i.path) || '(body)',
    code: i.code,
    message: i.message,
  }));
  throw invalid(code, issues);
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** A `{key}` path parameter must be a valid key; anything else cannot exist (404 for `what`). */
export function keyParam(value: string, notFound: ErrorCode, what: string): string {
  if (!isKey(value)) throw new AppError(notFound, `No ${what} "${String(value).slice(0, 100)}".`);
  return value;
}

/** Parses `If-Match: "3"` (also W/"3" or 3). */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(value) : null;
  if (!m) throw new AppError('INVALID_IF_MATCH', `If-Match must be a quoted version like "3"; got ${JSON.stringify(value)}.`);
  return Number(m[1]);
}
