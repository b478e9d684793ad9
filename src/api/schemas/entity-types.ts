/** Schemas of /api/v1/entity-types… (API.md "Entity types"). */
import { z } from 'zod';
import { ATTRIBUTE_TYPES, EntityTypeBodySchema } from '../../domain/entity-type.js';
import { errors, FieldIssue, Json, Key, KeyParams, list, ListQuery, NoContent, secured, Timestamp } from './kit.js';
import { routeDocs } from './openapi.js';

/** An entity type as stored and answered: the definition with its defaults filled in. */
export const EntityTypeView = z.object({
  key: Key,
  version: z.int(),
  name: z.string(),
  description: z.string().optional(),
  attributes: z.array(
    z.object({
      key: Key,
      type: z.enum(ATTRIBUTE_TYPES),
      name: z.string().optional(),
      description: z.string().optional(),
      required: z.boolean(),
      default: Json.optional(),
      values: z.array(z.string()).optional(),
    }),
  ),
  statuses: z.array(z.object({ key: Key, name: z.string(), initial: z.boolean() })),
  requirements: z.array(z.object({ key: Key, condition: z.string().meta({ description: 'JSONata; see docs/expressions.md' }), message: z.string(), enforce: z.boolean() })),
  transitions: z.array(z.object({ from: z.array(Key), to: Key, when: z.array(Key), whenFailing: z.array(Key), auto: z.boolean() })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** The answer of a PUT: the stored type, with the expressions' warnings when there are any. */
const PutAnswer = EntityTypeView.extend({ warnings: z.array(FieldIssue).optional() });

const tags = ['entity types'];
export const entityTypeDocs = {
  put: routeDocs({ tags, summary: 'Create (201) or replace (200) an entity type; the same definition again keeps its version', security: secured, params: KeyParams, body: EntityTypeBodySchema, response: { 200: PutAnswer, 201: PutAnswer, ...errors(400, 401, 403, 409) } }),
  list: routeDocs({ tags, summary: 'List entity types by key', security: secured, querystring: ListQuery, response: { 200: list(EntityTypeView), ...errors(400, 401) } }),
  get: routeDocs({ tags, summary: 'Get an entity type', security: secured, params: KeyParams, response: { 200: EntityTypeView, ...errors(401, 404) } }),
  delete: routeDocs({ tags, summary: 'Delete an entity type (409 while entities exist or a process uses it)', security: secured, params: KeyParams, response: { 204: NoContent, ...errors(401, 403, 404, 409) } }),
};
