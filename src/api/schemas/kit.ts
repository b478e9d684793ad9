/**
 * Pieces shared by the route schemas: path and list parameters, timestamps, lists, error bodies.
 * Response shapes are written with `z.object` (closed: the document says exactly which fields are sent)
 * and `z.record` / `z.looseObject` where the shape is open (attributes, task input, details).
 */
import { z } from 'zod';
import { ERRORS, type ErrorCode } from '../../domain/errors.js';
import { key } from '../../domain/schema-kit.js';
import { ROLES } from '../../engine/access.js';
import type { Role as RoleName } from '../../store/api-keys.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../pagination.js';

export { key as Key };
/** An id: opaque to clients (API.md "Conventions"). */
export const Id = z.string();
export const Timestamp = z.string().meta({ format: 'date-time' });
export const Json = z.unknown();
export const JsonObject = z.record(z.string(), z.unknown());
export const Role = z.enum(ROLES as [RoleName, ...RoleName[]]);

/** Needs an API key: `Authorization: Bearer <key>`. */
export const secured = [{ bearer: [] }];

export const KeyParams = z.object({ key });
export const IdParams = z.object({ id: Id });
export const TypeParams = z.object({ type: key.meta({ description: 'entity type key' }) });
export const EntityParams = z.object({ type: key.meta({ description: 'entity type key' }), id: z.string().meta({ description: 'entity id' }) });

/** `?limit=&cursor=` (pagination.ts parses them). */
export const ListQuery = z.object({
  limit: z.int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).optional(),
  cursor: z.string().max(400).meta({ description: "the previous page's nextCursor" }).optional(),
});

/** `{items, nextCursor}` (API.md "Lists"). */
export function list<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().meta({ description: 'set when more items follow; a page ends early (fewer than limit) at the byte budget' }),
  });
}

/** One problem of a request (`details.fields[]`) or a warning; kinds add fields of their own. */
export const FieldIssue = z.looseObject({ path: z.string(), code: z.string(), message: z.string() });

/** A failure as data (domain/failure.ts): a run's or a step's `error`. */
export const Failure = z.looseObject({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  retryAfterMs: z.number().optional(),
  details: z.unknown().optional(),
  origin: z.enum(['engine', 'task']).meta({ description: 'who raised it: the engine, or the task (its provider) — docs/failures.md' }).optional(),
  cause: z.looseObject({ message: z.string(), code: z.string().optional(), name: z.string().optional() }).meta({ description: 'the underlying error, when there was one' }).optional(),
});

/** The API's error body; `code` is one of docs/errors.md. The document holds it once, as components.schemas.Error. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

/** The error statuses a route answers with, each with the error body. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody]));
}

/** 204: no body. */
export const NoContent = z.null().meta({ description: 'No content' });
