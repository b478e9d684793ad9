/** Schemas of /api/v1/entities/{type}… (API.md "Entities"); the entity's runs and links are in runs.ts and connections.ts. */
import { z } from 'zod';
import { EntityParams, errors, Id, JsonObject, Key, list, ListQuery, NoContent, secured, Timestamp, TypeParams } from './kit.js';
import { routeDocs } from './openapi.js';

/** The body of POST and PATCH (routes/entities.ts validates with it). */
export const SaveBody = z.strictObject({
  attributes: z.record(z.string(), z.unknown()).optional(),
  status: z.string().max(63).optional(),
});

const entity = {
  id: Id,
  type: Key,
  status: Key,
  version: z.int(),
  attributes: JsonObject,
  createdAt: Timestamp,
  updatedAt: Timestamp,
};
export const EntityView = z.object(entity);

const RequirementResult = z.object({
  key: Key,
  passed: z.boolean(),
  message: z.string(),
  enforce: z.boolean(),
  error: z.looseObject({ code: z.string(), message: z.string() }).meta({ description: 'present when the condition could not be evaluated (it counts as failed)' }).optional(),
});
const requirements = z.array(RequirementResult);

const Saved = z.object({
  ...entity,
  requirements,
  statusPath: z.array(Key).meta({ description: 'the statuses this save went through, the one before it first' }),
  queuedRuns: z.array(z.object({ id: Id, process: Key })).meta({ description: 'runs this save queued' }),
});

const Event = z.object({
  id: Id,
  entityId: Id,
  entityType: Key,
  entityVersion: z.int(),
  kind: z.enum(['created', 'updated', 'deleted']),
  statusBefore: z.string().nullable(),
  statusAfter: z.string().nullable(),
  statusPath: z.array(z.string()),
  changes: z.record(z.string(), z.looseObject({ from: z.unknown().optional(), to: z.unknown().optional() })),
  actor: JsonObject,
  createdAt: Timestamp,
});

const EntityListQuery = ListQuery.extend({
  status: z.string().meta({ description: 'one status or several, comma-separated' }).optional(),
  where: z.string().meta({ description: 'JSONata condition; an entity matches when it gives true (422 WHERE_TOO_EXPENSIVE when it cannot be evaluated within its limits)' }).optional(),
});

const tags = ['entities'];
export const entityDocs = {
  create: routeDocs({ tags, summary: 'Create an entity (runs the save pipeline)', security: secured, params: TypeParams, body: SaveBody, response: { 201: Saved, ...errors(400, 401, 403, 404, 413, 422) } }),
  list: routeDocs({ tags, summary: 'List entities, newest first', security: secured, params: TypeParams, querystring: EntityListQuery, response: { 200: list(EntityView), ...errors(400, 401, 404, 422) } }),
  get: routeDocs({ tags, summary: 'Get an entity with its current requirement results (ETag: its version)', security: secured, params: EntityParams, response: { 200: EntityView.extend({ requirements }), ...errors(401, 404) } }),
  update: routeDocs({ tags, summary: 'Update attributes and/or ask for a status (If-Match: "<version>" optional)', security: secured, params: EntityParams, body: SaveBody, response: { 200: Saved, ...errors(400, 401, 403, 404, 409, 413, 422) } }),
  delete: routeDocs({ tags, summary: 'Delete an entity (its events are kept)', security: secured, params: EntityParams, response: { 204: NoContent, ...errors(401, 403, 404) } }),
  events: routeDocs({ tags, summary: 'Event history of an entity, oldest first', security: secured, params: EntityParams, querystring: ListQuery, response: { 200: list(Event), ...errors(400, 401, 404) } }),
};
