/** Schemas of /api/v1/batches… (API.md "Batches"): the processing control panel. */
import { z } from 'zod';
import { BATCH_ITEM_STATUSES, BatchRequestSchema } from '../../domain/batch.js';
import { EntityView } from './entities.js';
import { errors, Failure, Id, IdParams, JsonObject, Key, list, ListQuery, secured, Timestamp } from './kit.js';
import { routeDocs } from './openapi.js';

const tags = ['batches'];
const count = z.int().min(0);

const Batch = z.object({
  id: Id,
  process: Key,
  processVersion: z.int(),
  entityType: Key,
  filter: JsonObject.meta({ description: 'the filter the batch was created with' }),
  status: z.enum(['preparing', 'running', 'paused', 'cancelled', 'completed']),
  total: count.meta({ description: 'items fixed at creation' }),
  pending: count.meta({ description: 'items with no run yet (the feeder starts them a window at a time)' }),
  queued: count,
  running: count,
  succeeded: count,
  failed: count,
  skipped: count,
  cancelled: count,
  createdAt: Timestamp,
  createdBy: z.object({ type: z.string(), id: z.string(), name: z.string().optional() }),
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  etaSeconds: z.int().nullable().meta({ description: 'seconds left at the recent rate; null while unknown or paused' }),
});

const Item = z.object({
  entityId: Id,
  runId: Id.nullable(),
  status: z.enum(BATCH_ITEM_STATUSES as [string, ...string[]]),
  error: Failure.nullable(),
  attempts: count,
});

const ListBatchesQuery = ListQuery.extend({
  process: Key.optional(),
  status: z.string().meta({ description: 'comma-separated: running, paused, cancelled, completed' }).optional(),
});
const ItemsQuery = ListQuery.extend({
  status: z.string().meta({ description: `comma-separated: ${BATCH_ITEM_STATUSES.join(', ')}` }).optional(),
});

const action = (summary: string) => routeDocs({ tags, summary, security: secured, params: IdParams, response: { 202: Batch, ...errors(401, 403, 404, 409) } });

export const batchDocs = {
  preview: routeDocs({
    tags,
    summary: 'Count the entities a batch would run over, with a sample (writes nothing)',
    security: secured,
    body: BatchRequestSchema,
    response: { 200: z.object({ total: count, sample: z.array(EntityView) }), ...errors(400, 401, 403, 404, 409, 422) },
  }),
  create: routeDocs({
    tags,
    summary: 'Run a process over a filtered set of entities (the set is fixed now)',
    security: secured,
    body: BatchRequestSchema,
    response: { 201: Batch, ...errors(400, 401, 403, 404, 409, 422) },
  }),
  list: routeDocs({ tags, summary: 'List batches, newest first', security: secured, querystring: ListBatchesQuery, response: { 200: list(Batch), ...errors(400, 401) } }),
  get: routeDocs({ tags, summary: "Get a batch's progress", security: secured, params: IdParams, response: { 200: Batch, ...errors(401, 404) } }),
  items: routeDocs({ tags, summary: 'Per-entity results of a batch, in selection order', security: secured, params: IdParams, querystring: ItemsQuery, response: { 200: list(Item), ...errors(400, 401, 404) } }),
  pause: action('Pause a batch: no new run starts; runs already running finish'),
  resume: action('Resume a paused batch'),
  cancel: action('Cancel a batch: items not started become cancelled'),
  retryFailed: action('Queue the failed items of a batch again'),
};
