/**
 * A batch's items: the set fixed at creation (one row per entity, in selection order) and the moves the
 * feeder and the user's actions make on them. Moves made by runs (queued → running → ended) are
 * migration 007's trigger's. Every function here runs inside the caller's transaction, which also
 * moves the batch's counters (store/batches.ts), so items and counters never disagree.
 */
import { adapterOf } from './dialect.js';
import { sql, type Selectable } from 'kysely';
import type { BatchItemStatus } from '../domain/batch.js';
import type { Failure } from '../domain/failure.js';
import { insertRuns, type Executor, type NewRun } from './runs.js';
import type { BatchItemsTable } from './schema.js';

export interface BatchItem {
  seq: number;
  entityId: string;
  status: BatchItemStatus;
  runId: string | null;
  attempts: number;
  error: Failure | null;
}

function toItem(r: Selectable<BatchItemsTable>): BatchItem {
  return { seq: Number(r.seq), entityId: r.entity_id, status: r.status as BatchItemStatus, runId: r.run_id, attempts: Number(r.attempts), error: r.error === null ? null : JSON.parse(r.error) };
}

/** Rows per insert statement (5 parameters each: well under both databases' limits). */
const INSERT_CHUNK = 500;

/** Adds pending items numbered from `firstSeq` on. */
export async function insertItems(db: Executor, batchId: string, orgId: string, firstSeq: number, entityIds: readonly string[]): Promise<void> {
  for (let i = 0; i < entityIds.length; i += INSERT_CHUNK) {
    const rows = entityIds.slice(i, i + INSERT_CHUNK).map((entityId, j) => ({ batch_id: batchId, seq: firstSeq + i + j, org_id: orgId, entity_id: entityId, status: 'pending', run_id: null, error: null }));
    await db.insertInto('batch_items').values(rows).execute();
  }
}

/** A page of items in selection order after `afterSeq`, optionally of some statuses. */
export async function listItems(db: Executor, orgId: string, batchId: string, page: { statuses?: readonly BatchItemStatus[]; afterSeq?: number; limit: number }): Promise<BatchItem[]> {
  let q = db.selectFrom('batch_items').selectAll().where('batch_id', '=', batchId).where('org_id', '=', orgId);
  if (page.statuses && page.statuses.length > 0) q = q.where('status', 'in', page.statuses);
  if (page.afterSeq !== undefined) q = q.where('seq', '>', page.afterSeq);
  const rows = await q.orderBy('seq').limit(page.limit).execute();
  return rows.map(toItem);
}

/** The next pending items, in selection order. */
export async function nextPendingItems(db: Executor, orgId: string, batchId: string, limit: number): Promise<BatchItem[]> {
  const rows = await db.selectFrom('batch_items').selectAll().where('batch_id', '=', batchId).where('org_id', '=', orgId).where('status', '=', 'pending').orderBy('seq').limit(limit).execute();
  return rows.map(toItem);
}

/**
 * Queues runs for pending items: inserts the runs and marks each item queued with its run, in the
 * caller's transaction (a crash keeps both or neither). A run's dedupe key names the batch, the entity
 * and the item's attempt, so a second insert of the same start is impossible even so.
 */
export async function queueItems(db: Executor, orgId: string, batchId: string, runs: ReadonlyArray<NewRun & { seq: number; attempt: number }>): Promise<number> {
  if (runs.length === 0) return 0;
  const inserted = new Set(await insertRuns(db, runs));
  const queued = runs.filter((r) => inserted.has(r.id));
  let n = 0;
  // One statement per chunk, not one per item (bench/batch: the per-item UPDATEs were most of a feed's cost).
  // The item's attempt is the one read with it in this transaction (r.attempt = attempts + 1).
  for (let i = 0; i < queued.length; i += INSERT_CHUNK) {
    const chunk = queued.slice(i, i + INSERT_CHUNK);
    const runId = sql<string>`CASE seq ${sql.join(chunk.map((r) => sql`WHEN ${r.seq} THEN ${r.id}`), sql` `)} END`;
    const result = await db
      .updateTable('batch_items')
      .set({ status: 'queued', run_id: runId, attempts: sql`attempts + 1`, error: null })
      .where('batch_id', '=', batchId)
      .where('org_id', '=', orgId)
      .where('seq', 'in', chunk.map((r) => r.seq))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    n += Number(result.numUpdatedRows);
  }
  return n;
}

/** The dedupe key of an item's run: one start per batch, entity and attempt. */
export const batchRunKey = (orgId: string, batchId: string, entityId: string, attempt: number) => `${orgId}:batch:${batchId}:${entityId}:${attempt}`;

/** Pending items whose entity is gone are skipped (with the reason as their error). */
export async function skipItems(db: Executor, orgId: string, batchId: string, seqs: readonly number[], error: Failure): Promise<number> {
  if (seqs.length === 0) return 0;
  const result = await db
    .updateTable('batch_items')
    .set({ status: 'skipped', error: JSON.stringify(error) })
    .where('batch_id', '=', batchId)
    .where('org_id', '=', orgId)
    .where('seq', 'in', seqs)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Pause: the batch's runs that have not started are taken back out of the queue (deleted: they never
 * ran, they have no steps) and their items are pending again. Returns how many.
 */
export async function unqueueItems(db: Executor, orgId: string, batchId: string): Promise<number> {
  const gone = await db.deleteFrom('runs').where('id', 'in', queuedRunsOf(db, orgId, batchId)).where('status', '=', 'queued').returning('id').execute();
  if (gone.length === 0) return 0;
  const ids = gone.map((r) => r.id);
  let n = 0;
  for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
    const result = await db
      .updateTable('batch_items')
      .set({ status: 'pending', run_id: null })
      .where('batch_id', '=', batchId)
      .where('org_id', '=', orgId)
      .where('run_id', 'in', ids.slice(i, i + INSERT_CHUNK))
      .where('status', '=', 'queued')
      .executeTakeFirst();
    n += Number(result.numUpdatedRows);
  }
  return n;
}

/**
 * The batch's queued runs. On Postgres rows a claim is taking right now are skipped, not waited for:
 * the caller holds the batch row, and the claim's trigger waits for that row (a deadlock otherwise);
 * a run being claimed has started anyway.
 */
function queuedRunsOf(db: Executor, orgId: string, batchId: string) {
  const q = db.selectFrom('runs').select('id').where('batch_id', '=', batchId).where('org_id', '=', orgId).where('status', '=', 'queued');
  return adapterOf(db).rowLock('update') === 'update' ? q.forUpdate().skipLocked() : q;
}

/** Cancel: items not started become cancelled (the queued ones' runs are cancelled by the caller). */
export async function cancelPendingItems(db: Executor, orgId: string, batchId: string): Promise<number> {
  const result = await db.updateTable('batch_items').set({ status: 'cancelled' }).where('batch_id', '=', batchId).where('org_id', '=', orgId).where('status', '=', 'pending').executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Cancels the batch's runs that have not started; the trigger moves their items and counters. */
export async function cancelQueuedRuns(db: Executor, orgId: string, batchId: string, nowIso: string): Promise<number> {
  const result = await db
    .updateTable('runs')
    .set({ status: 'cancelled', finished_at: nowIso, lease_owner: null, lease_expires_at: null })
    .where('id', 'in', queuedRunsOf(db, orgId, batchId))
    .where('status', '=', 'queued')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** retry-failed: failed items are pending again (the feeder gives each a new run). */
export async function resetFailedItems(db: Executor, orgId: string, batchId: string): Promise<number> {
  const result = await db.updateTable('batch_items').set({ status: 'pending', run_id: null, error: null }).where('batch_id', '=', batchId).where('org_id', '=', orgId).where('status', '=', 'failed').executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Items of a batch by status, counted (tests and the consistency check; progress reads use the counters). */
export async function countItemsByStatus(db: Executor, orgId: string, batchId: string): Promise<Record<string, number>> {
  const rows = await db.selectFrom('batch_items').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).where('batch_id', '=', batchId).where('org_id', '=', orgId).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
