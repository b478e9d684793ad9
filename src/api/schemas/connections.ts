/** Schemas of /api/v1/connections… and /api/v1/entities/{type}/{id}/links (API.md "Connections"). */
import { z } from 'zod';
import { PutBody } from '../../engine/connections.js';
import { EntityParams, errors, Id, JsonObject, Key, KeyParams, list, ListQuery, NoContent, secured, Timestamp } from './kit.js';
import { routeDocs } from './openapi.js';

/** The PUT body: engine/connections.ts's outline, with what the provider's own schemas check described. */
const ConnectionBody = PutBody.extend({
  provider: PutBody.shape.provider.meta({ description: 'hubspot, dropbox or http' }),
  config: JsonObject.meta({ description: "the provider's settings (never secret), e.g. baseUrl, rateLimit {requests, perMs}; see docs/connections.md" }).optional(),
  secrets: JsonObject.meta({
    description: 'write-only, encrypted at rest; omit to keep the stored secrets (same provider). HubSpot {accessToken}; Dropbox {accessToken} or {refreshToken, appKey, appSecret}; HTTP {headers}',
  }).optional(),
});

export const ConnectionView = z.object({
  key: Key,
  provider: z.string(),
  name: z.string(),
  config: JsonObject,
  secrets: z.record(z.string(), z.literal('set')).meta({ description: 'names of the secrets that are set; values are never returned' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const ConnectionDetail = ConnectionView.extend({
  rateLimit: z
    .object({ requests: z.int(), perMs: z.int(), from: z.enum(['config', 'provider default']) })
    .nullable()
    .meta({ description: 'the shared limit in force; null: none (only 429 pauses)' }),
  recent429s: z.array(z.object({ at: Timestamp, retryAfterMs: z.int().nullable() })).meta({ description: "the provider's latest 429 answers (at most 20), newest first" }),
});

const TestAnswer = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }) }),
]);

const Link = z.object({
  connection: Key,
  provider: z.string(),
  externalType: z.string(),
  externalId: z.string(),
  url: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  runId: Id.nullable(),
});

const tags = ['connections'];
export const connectionDocs = {
  put: routeDocs({ tags, summary: 'Create (201) or replace (200) a connection (secrets are write-only)', security: secured, params: KeyParams, body: ConnectionBody, response: { 200: ConnectionView, 201: ConnectionView, ...errors(400, 401, 403, 409) } }),
  list: routeDocs({ tags, summary: 'List connections by key (secrets shown as "set")', security: secured, querystring: ListQuery, response: { 200: list(ConnectionView), ...errors(400, 401) } }),
  get: routeDocs({ tags, summary: 'Get a connection (secrets shown as "set"), its rate limit in force and recent 429s', security: secured, params: KeyParams, response: { 200: ConnectionDetail, ...errors(401, 404) } }),
  delete: routeDocs({ tags, summary: 'Delete a connection (409 while a process uses it)', security: secured, params: KeyParams, response: { 204: NoContent, ...errors(401, 403, 404, 409) } }),
  test: routeDocs({ tags, summary: 'Check the credentials with one cheap request to the provider (at most 10 s)', security: secured, params: KeyParams, response: { 200: TestAnswer, ...errors(401, 403, 404) } }),
  links: routeDocs({ tags: ['entities'], summary: 'Links of an entity to records in providers', security: secured, params: EntityParams, response: { 200: list(Link), ...errors(401, 404) } }),
};
