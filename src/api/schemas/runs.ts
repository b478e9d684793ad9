/** Schemas of /api/v1/runs…, /api/v1/entities/{type}/{id}/runs and …/process (API.md "Runs", "Ad hoc processing"). */
import { z } from 'zod';
import { RUN_STATUSES } from '../../store/processes.js';
import { EntityParams, errors, Failure, Id, IdParams, Json, Key, list, ListQuery, secured, Timestamp } from './kit.js';
import { routeDocs } from './openapi.js';

/** POST /runs/{id}/retry (routes/runs.ts validates with it). */
export const RetryBody = z.strictObject({ from: z.enum(['failed', 'start']).default('failed') });
/** POST /entities/{type}/{id}/process (routes/runs.ts validates with it). */
export const ProcessBody = z.strictObject({
  process: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a process key'),
  dryRun: z.boolean().default(false).meta({ description: 'evaluate conditions and inputs only; nothing is sent or written' }),
  wait: z.boolean().default(false).meta({ description: 'wait (up to 30 s) for the run to finish' }),
});

const RunStatus = z.enum(RUN_STATUSES);
const Trigger = z.object({ type: z.enum(['status', 'manual', 'batch', 'retry']), status: z.string().nullable(), batchId: z.string().nullable(), actor: z.string().nullable() });

const summary = {
  id: Id,
  process: Key,
  processVersion: z.int(),
  entityId: Id,
  entityType: Key,
  status: RunStatus,
  trigger: Trigger,
  attempt: z.int(),
  cancelRequested: z.boolean().meta({ description: 'a cancel was asked while the run was running; it stops before its next step' }),
  pinned: z.boolean().meta({ description: 'kept by retention whatever its age (POST /runs/{id}/pin, /unpin)' }),
  queuedAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  error: Failure.nullable(),
};
const RunSummary = z.object(summary);

const Step = z.object({
  task: Key,
  status: z.enum(['running', 'succeeded', 'failed', 'skipped', 'waiting']),
  attempts: z.int(),
  input: Json,
  output: Json,
  error: Failure.nullable(),
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  omitted: z.literal(true).meta({ description: 'input and output were left out to keep the run detail within the page budget; GET /runs/{id}/steps has them' }).optional(),
});
export const RunDetail = RunSummary.extend({ steps: z.array(Step) });

/** A dry run (engine/executor/preview.ts): shaped like a run, never stored. */
const DryRun = z.object({
  id: z.null(),
  dryRun: z.literal(true),
  process: Key,
  processVersion: z.int(),
  entityId: Id,
  entityType: Key,
  status: z.enum(['succeeded', 'failed']),
  trigger: Trigger,
  attempt: z.literal(0),
  queuedAt: z.null(),
  startedAt: Timestamp,
  finishedAt: Timestamp,
  error: Failure.nullable(),
  steps: z.array(
    z.object({
      task: Key,
      kind: z.string(),
      status: z.enum(['evaluated', 'skipped', 'failed']),
      attempts: z.literal(0),
      input: Json.meta({ description: 'what the task would receive' }),
      output: z.null(),
      error: Failure.nullable(),
      startedAt: z.null(),
      finishedAt: z.null(),
      note: z.string().meta({ description: 'the task reads outputs of earlier tasks, which are null in a dry run' }).optional(),
    }),
  ),
});
const RunEnvelope = z.object({ run: z.union([RunDetail, DryRun]) });

const RunListQuery = ListQuery.extend({
  process: Key.optional(),
  entity: Id.meta({ description: 'entity id' }).optional(),
  status: z.string().meta({ description: 'one run status or several, comma-separated' }).optional(),
  batch: Id.meta({ description: 'batch id' }).optional(),
});

const tags = ['runs'];
export const runDocs = {
  list: routeDocs({ tags, summary: 'List runs (summaries), newest first', security: secured, querystring: RunListQuery, response: { 200: list(RunSummary), ...errors(400, 401) } }),
  get: routeDocs({ tags, summary: 'Get a run with its steps', security: secured, params: IdParams, response: { 200: RunDetail, ...errors(401, 404) } }),
  steps: routeDocs({ tags, summary: 'Steps of a run with their input and output, by task order (pages bounded by bytes)', security: secured, params: IdParams, querystring: ListQuery, response: { 200: list(Step), ...errors(400, 401, 404) } }),
  retry: routeDocs({ tags, summary: 'Retry a failed or cancelled run: from the failed step (default) or from the start', security: secured, params: IdParams, body: RetryBody, response: { 202: RunDetail, ...errors(400, 401, 403, 404, 409) } }),
  cancel: routeDocs({ tags, summary: 'Cancel a run (a running one stops before its next step)', security: secured, params: IdParams, response: { 202: RunDetail, ...errors(401, 403, 404, 409) } }),
  pin: routeDocs({ tags, summary: 'Pin a run: retention never deletes it', security: secured, params: IdParams, response: { 200: RunDetail, ...errors(401, 403, 404) } }),
  unpin: routeDocs({ tags, summary: 'Unpin a run: retention may delete it once it is old enough', security: secured, params: IdParams, response: { 200: RunDetail, ...errors(401, 403, 404) } }),
  entityRuns: routeDocs({ tags: ['entities'], summary: 'Runs of an entity, newest first', security: secured, params: EntityParams, querystring: ListQuery, response: { 200: list(RunSummary), ...errors(400, 401, 404) } }),
  process: routeDocs({
    tags: ['entities'],
    summary: 'Process an entity with a process of its type: queue a run (202), wait for it (200 once finished, 202 after the wait limit), or dry-run it (200)',
    security: secured,
    params: EntityParams,
    body: ProcessBody,
    response: { 200: RunEnvelope, 202: RunEnvelope, ...errors(400, 401, 403, 404, 409) },
  }),
};
