/** Request parsing helpers: zod at the edge, errors from the catalogue. */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, invalid, type ErrorCode } from '../domain/errors.js';
import { isKey } from '../domain/keys.js';
import { fromZod } from '../domain/schema-kit.js';

/** Parses `data` with `schema`; a mismatch is a 400 of `code` listing every field. */
export function parseWith<T extends z.ZodType>(schema: T, data: unknown, code: ErrorCode = 'VALIDATION_FAILED'): z.infer<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const known = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  throw invalid(code, fromZod(result.error, [], data, known));
}

/** The JSON body; no body at all counts as `{}` (but an explicit `null` stays null and is refused). */
export function bodyOf(request: FastifyRequest): unknown {
  return request.body === undefined ? {} : request.body;
}

/** A `{key}` path parameter must be a valid key; anything else cannot exist (404 for `what`). */
export function keyParam(value: string, notFound: ErrorCode, what: string): string {
  if (!isKey(value)) throw new AppError(notFound, `No ${what} "${String(value).slice(0, 100)}".`);
  return value;
}

/** Parses `If-Match: "3"` (also W/"3" or 3); `*` means any version. */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  if (value?.trim() === '*') return undefined;
  const m = value ? /^\s*(?:W\/)?(?:"(\d{1,15})"|(\d{1,15}))\s*$/.exec(value) : null;
  if (!m) throw new AppError('INVALID_IF_MATCH', `If-Match must be a quoted version like "3"; got ${JSON.stringify(value)}.`);
  return Number(m[1] ?? m[2]);
}
