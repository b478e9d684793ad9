/** Schemas of /api/v1/processes… (API.md "Processes"). */
import { z } from 'zod';
import { ProcessSchema } from '../../domain/process.js';
import { RUN_STATUSES } from '../../store/processes.js';
import { errors, FieldIssue, Id, JsonObject, Key, KeyParams, list, ListQuery, NoContent, secured, Timestamp } from './kit.js';
import { routeDocs } from './openapi.js';

/** A process definition with its defaults filled in (domain/process.ts ProcessDefinition). */
const definition = {
  name: z.string(),
  description: z.string().optional(),
  entityType: Key,
  trigger: z.union([z.object({ status: Key }), z.object({ manual: z.literal(true) })]),
  enabled: z.boolean(),
  settings: z.object({
    retry: z.object({ maxAttempts: z.int(), initialDelayMs: z.int(), maxDelayMs: z.int() }),
    timeoutMs: z.int(),
    concurrency: z.int(),
  }),
  tasks: z.array(
    z.object({
      key: Key,
      kind: z.string().meta({ description: 'e.g. http.request, hubspot.upsert, dropbox.upload, entity.update, entity.create, delay' }),
      connection: Key.optional(),
      when: z.string().meta({ description: 'JSONata condition; the task is skipped unless it gives true' }).optional(),
      input: JsonObject.meta({ description: 'fields the task kind marks as expressions are JSONata' }),
    }),
  ),
};

/** A process as exported (GET /export): the definition and its key. */
export const ProcessExport = z.object({ key: Key, ...definition });
export const ProcessView = z.object({ key: Key, version: z.int(), ...definition, createdAt: Timestamp, updatedAt: Timestamp });
const PutAnswer = ProcessView.extend({ warnings: z.array(FieldIssue).optional() });
const WithRuns = ProcessView.extend({
  runs: z.object(Object.fromEntries(RUN_STATUSES.map((s) => [s, z.int()]))).meta({ description: 'runs of the process by status' }),
  heldBack: z
    .object({ concurrency: z.int(), disabled: z.int() })
    .meta({ description: "runs due now that cannot start: waiting for a slot of settings.concurrency, or held while the process is disabled" }),
  lastFailure: z
    .object({ runId: Id, code: z.string().nullable(), message: z.string().nullable(), at: Timestamp })
    .nullable()
    .meta({ description: 'the newest failed run (by when it finished); null: none' }),
});
const Version = z.object({ version: z.int(), ...definition, createdAt: Timestamp });

const tags = ['processes'];
export const processDocs = {
  put: routeDocs({ tags, summary: 'Create (201) or replace (200) a process; every change is a new version', security: secured, params: KeyParams, body: ProcessSchema, response: { 200: PutAnswer, 201: PutAnswer, ...errors(400, 401, 403, 409) } }),
  list: routeDocs({ tags, summary: 'List processes by key, with run counts by status', security: secured, querystring: ListQuery, response: { 200: list(WithRuns), ...errors(400, 401) } }),
  get: routeDocs({ tags, summary: 'Get a process with its run counts by status', security: secured, params: KeyParams, response: { 200: WithRuns, ...errors(401, 404) } }),
  versions: routeDocs({ tags, summary: 'Versions of a process, newest first', security: secured, params: KeyParams, querystring: ListQuery, response: { 200: list(Version), ...errors(400, 401, 404) } }),
  delete: routeDocs({ tags, summary: 'Delete a process (its runs keep their pinned version)', security: secured, params: KeyParams, response: { 204: NoContent, ...errors(401, 403, 404) } }),
};
