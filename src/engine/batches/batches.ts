/**
 * Batches as the API sees them (API.md "Batches"): preview, create, read, list, items, and the user's
 * actions — pause, resume, cancel, retry-failed. Runs are created by the feeder (feeder.ts), a window
 * at a time; the counters move with the runs (migration 007's trigger). Every query is scoped by the
 * caller's organization, and every refusal happens before anything is written.
 */
import { AppError } from '../../domain/errors.js';
import { isBatchFinished, type BatchItemStatus, type BatchRequest } from '../../domain/batch.js';
import { newId } from '../../domain/ids.js';
import type { EntityRecord } from '../../store/entities.js';
import { getConnection } from '../../store/connections.js';
import { getProcess, type StoredProcess } from '../../store/processes.js';
import {
  deletePreparingBatch,
  getBatch,
  getBatchForUpdate,
  insertBatch,
  listBatches,
  moveCounters,
  setBatchStatus,
  settleBatch,
  startBatch,
  type Batch,
} from '../../store/batches.js';
import { cancelPendingItems, cancelQueuedRuns, insertItems, listItems, resetFailedItems, unqueueItems, type BatchItem } from '../../store/batch-items.js';
import { checkOrThrow } from '../expressions.js';
import type { CallContext, Services } from '../services.js';
import { walkSelection, type Selection } from './selection.js';
import { publishBatch } from './events.js';

/** Entities a preview shows. */
const SAMPLE_SIZE = 10;


/** The process and the selection a request names, checked (nothing is read beyond what the checks need). */
async function resolve(services: Services, ctx: CallContext, req: BatchRequest): Promise<{ process: StoredProcess; selection: Selection }> {
  const { db } = services.database;
  const process = await getProcess(db, ctx.orgId, req.process);
  if (!process) throw new AppError('PROCESS_NOT_FOUND', `No process "${req.process}".`, { process: req.process });
  const entityType = process.definition.entityType;
  if (req.entityType && req.entityType !== entityType) {
    throw new AppError('PROCESS_WRONG_ENTITY_TYPE', `Process "${req.process}" processes ${entityType} entities, not ${req.entityType}.`, { process: req.process, entityType });
  }
  const loaded = await services.entityTypes.loadFresh(ctx.orgId, entityType);
  const known = new Set(loaded.definition.statuses.map((s) => s.key));
  for (const s of req.filter.status ?? []) {
    if (!known.has(s)) throw new AppError('STATUS_UNKNOWN', `"${s}" is not a status of ${entityType}.`, { status: s, allowed: [...known] });
  }
  if (req.filter.where) checkOrThrow(req.filter.where, 'filter.where', loaded.definition.attributes.map((a) => a.key));
  const linked = req.filter.linked;
  if (linked && !(await getConnection(db, ctx.orgId, linked.connection))) {
    throw new AppError('CONNECTION_NOT_FOUND', `No connection "${linked.connection}" (filter.linked.connection).`, { connection: linked.connection });
  }
  return { process, selection: { orgId: ctx.orgId, entityType, filter: req.filter } };
}

/** How many entities the request selects now, and the first few of them. */
export async function previewBatch(services: Services, ctx: CallContext, req: BatchRequest): Promise<{ total: number; sample: EntityRecord[] }> {
  const { selection } = await resolve(services, ctx, req);
  let total = 0;
  const sample: EntityRecord[] = [];
  await walkSelection(
    services,
    selection,
    (ids, entities) => {
      total += ids.length;
      if (entities && sample.length < SAMPLE_SIZE) sample.push(...entities.slice(0, SAMPLE_SIZE - sample.length));
    },
    { full: true },
  );
  return { total, sample };
}

/**
 * Creates a batch: the selection is walked chunk by chunk and stored as its items while the batch is
 * `preparing` (not listed, not fed); then it runs with its total fixed. A refusal or a failure part way
 * removes what was written; a batch a crash left preparing is removed by the feeder later.
 */
export async function createBatch(services: Services, ctx: CallContext, req: BatchRequest): Promise<Batch> {
  const { process, selection } = await resolve(services, ctx, req);
  if (!process.definition.enabled) {
    throw new AppError('PROCESS_DISABLED', `Process "${req.process}" is disabled; enable it to run a batch of it.`, { process: req.process });
  }
  const { db } = services.database;
  const now = services.clock.now();
  const id = newId(now);
  const createdBy = { type: ctx.actor.type, id: ctx.actor.id, ...(ctx.actor.name ? { name: ctx.actor.name } : {}) };
  await insertBatch(db, { id, orgId: ctx.orgId, process: process.key, processVersion: process.version, entityType: selection.entityType, filter: req.filter, createdBy, createdAt: new Date(now).toISOString() });
  let total = 0;
  try {
    await walkSelection(services, selection, async (ids) => {
      await insertItems(db, id, ctx.orgId, total, ids);
      total += ids.length;
    });
    if (total === 0) throw new AppError('BATCH_EMPTY', `No ${selection.entityType} matches the filter; no batch was created.`, { filter: req.filter });
    await startBatch(db, ctx.orgId, id, total, services.clock.now());
  } catch (err) {
    await deletePreparingBatch(db, ctx.orgId, id).catch(() => {});
    throw err;
  }
  const batch = await readBatch(services, ctx, id);
  publishBatch(services, batch);
  return batch;
}

export async function readBatch(services: Services, ctx: CallContext, id: string): Promise<Batch> {
  const batch = await getBatch(services.database.db, ctx.orgId, id);
  if (!batch) throw new AppError('BATCH_NOT_FOUND', `No batch with id "${id.slice(0, 100)}".`);
  return batch;
}

export async function findBatches(services: Services, ctx: CallContext, q: { limit: number; before?: string; process?: string; statuses?: string[] }): Promise<{ items: Batch[]; nextId: string | null }> {
  const rows = await listBatches(services.database.db, ctx.orgId, { beforeId: q.before, limit: q.limit + 1, process: q.process, statuses: q.statuses });
  const items = rows.slice(0, q.limit);
  return { items, nextId: rows.length > q.limit ? items[items.length - 1]!.id : null };
}

/** A page of a batch's items in selection order (BATCH_NOT_FOUND for another organization's batch). */
export async function batchItems(services: Services, ctx: CallContext, id: string, q: { statuses?: BatchItemStatus[]; afterSeq?: number; limit: number }): Promise<{ items: BatchItem[]; nextSeq: number | null }> {
  await readBatch(services, ctx, id);
  const rows = await listItems(services.database.db, ctx.orgId, id, { statuses: q.statuses, afterSeq: q.afterSeq, limit: q.limit + 1 });
  const items = rows.slice(0, q.limit);
  return { items, nextSeq: rows.length > q.limit ? items[items.length - 1]!.seq : null };
}

export type BatchAction = 'pause' | 'resume' | 'cancel' | 'retry-failed';

const PAST: Record<BatchAction, string> = { pause: 'paused', resume: 'resumed', cancel: 'cancelled', 'retry-failed': 'retried' };

/**
 * Applies an action in one transaction with the batch row locked (the feeder takes the same lock):
 * - pause: no new run starts: the feeder stops, and runs queued but not started are taken back out of
 *   the queue (their items pending again); runs already running finish;
 * - resume: the feeder goes on;
 * - cancel: items not started are cancelled (queued runs cancelled with them); running runs finish;
 * - retry-failed: failed items are pending again and get new runs (a completed batch runs again).
 * pause, resume and cancel of a completed or cancelled batch → BATCH_FINISHED, as is retry-failed of a
 * cancelled one. Pausing a paused batch or resuming a running one changes nothing.
 */
export async function actOnBatch(services: Services, ctx: CallContext, id: string, action: BatchAction): Promise<Batch> {
  const { db } = services.database;
  await readBatch(services, ctx, id);
  await db.transaction().execute(async (trx) => {
    const b = await getBatchForUpdate(trx, ctx.orgId, id);
    if (!b || b.orgId !== ctx.orgId || b.status === 'preparing') throw new AppError('BATCH_NOT_FOUND', `No batch with id "${id}".`);
    const finished = action === 'retry-failed' ? b.status === 'cancelled' : isBatchFinished(b.status);
    if (finished) throw new AppError('BATCH_FINISHED', `Batch ${id} is ${b.status}; it cannot be ${PAST[action]}.`, { status: b.status });
    const nowIso = new Date().toISOString();
    if (action === 'pause' && b.status === 'running') {
      await setBatchStatus(trx, ctx.orgId, id, ['running'], 'paused');
      const n = await unqueueItems(trx, ctx.orgId, id);
      await moveCounters(trx, ctx.orgId, id, { queued: -n, pending: n });
    } else if (action === 'resume' && b.status === 'paused') {
      await setBatchStatus(trx, ctx.orgId, id, ['paused'], 'running');
    } else if (action === 'cancel') {
      await setBatchStatus(trx, ctx.orgId, id, ['running', 'paused'], 'cancelled', nowIso);
      await cancelQueuedRuns(trx, ctx.orgId, id, nowIso);
      const n = await cancelPendingItems(trx, ctx.orgId, id);
      await moveCounters(trx, ctx.orgId, id, { pending: -n, cancelled: n });
    } else if (action === 'retry-failed') {
      const n = await resetFailedItems(trx, ctx.orgId, id);
      await moveCounters(trx, ctx.orgId, id, { failed: -n, pending: n });
    }
    await settleBatch(trx, ctx.orgId, id, nowIso);
  });
  const batch = await readBatch(services, ctx, id);
  publishBatch(services, batch);
  return batch;
}

