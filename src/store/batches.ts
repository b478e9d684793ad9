/**
 * Batches (migration 007): creating one, reading its progress (one row: the counters are kept by the
 * trigger on runs and by the feeder), and the user's actions on it. Every query names the organization,
 * except the feeders' looks over every organization (they serve them all, like the claim): the live
 * batches, the ones a crash left preparing, and the ended ones they announce.
 */
import { adapterOf } from './dialect.js';
import { sql, type Selectable } from 'kysely';
import type { BatchFilter, BatchStatus } from '../domain/batch.js';
import { fromJson, iso, type Database } from './db.js';
import type { Executor } from './runs.js';
import type { BatchesTable } from './schema.js';

export interface Batch {
  id: string;
  orgId: string;
  process: string;
  processVersion: number;
  entityType: string;
  filter: BatchFilter;
  status: BatchStatus;
  total: number;
  pending: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
  createdBy: { type: string; id: string; name?: string };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Items ended at two recent moments (epoch ms), for the ETA. */
  rate: { at: number | null; done: number | null; prevAt: number | null; prevDone: number | null };
}

const num = (v: number | string | null) => (v === null ? null : Number(v));

export function toBatch(r: Selectable<BatchesTable>): Batch {
  return {
    id: r.id,
    orgId: r.org_id,
    process: r.process,
    processVersion: r.process_version,
    entityType: r.entity_type,
    filter: fromJson<BatchFilter>(r.filter),
    status: r.status as BatchStatus,
    total: Number(r.total),
    pending: Number(r.pending),
    queued: Number(r.queued),
    running: Number(r.running),
    succeeded: Number(r.succeeded),
    failed: Number(r.failed),
    skipped: Number(r.skipped),
    cancelled: Number(r.cancelled),
    createdBy: JSON.parse(r.created_by),
    createdAt: iso(r.created_at),
    startedAt: r.started_at === null ? null : iso(r.started_at),
    finishedAt: r.finished_at === null ? null : iso(r.finished_at),
    rate: { at: num(r.rate_at), done: num(r.rate_done), prevAt: num(r.rate_prev_at), prevDone: num(r.rate_prev_done) },
  };
}

/** Items that ended (whatever their outcome). */
export const doneOf = (b: Pick<Batch, 'succeeded' | 'failed' | 'skipped' | 'cancelled'>) => b.succeeded + b.failed + b.skipped + b.cancelled;

export interface NewBatch {
  id: string;
  orgId: string;
  process: string;
  processVersion: number;
  entityType: string;
  filter: BatchFilter;
  createdBy: Batch['createdBy'];
  createdAt: string;
}

/** A batch being prepared: its items are inserted next, then `startBatch` makes it run. */
export async function insertBatch(db: Executor, b: NewBatch): Promise<void> {
  await db
    .insertInto('batches')
    .values({
      id: b.id,
      org_id: b.orgId,
      process: b.process,
      process_version: b.processVersion,
      entity_type: b.entityType,
      filter: JSON.stringify(b.filter),
      status: 'preparing',
      total: 0,
      created_by: JSON.stringify(b.createdBy),
      created_at: b.createdAt,
      started_at: null,
      finished_at: null,
      rate_at: null,
      rate_done: null,
      rate_prev_at: null,
      rate_prev_done: null,
    })
    .execute();
}

/** The items are in: the batch runs (its whole set pending). */
export async function startBatch(db: Executor, orgId: string, id: string, total: number, now: number): Promise<void> {
  await db
    .updateTable('batches')
    .set({ status: 'running', total, pending: total, started_at: new Date(now).toISOString(), rate_at: now, rate_done: 0 })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('status', '=', 'preparing')
    .execute();
}

/** Removes a batch that could not be prepared (or was left preparing by a crash), with its items. */
export async function deletePreparingBatch(db: Executor, orgId: string, id: string): Promise<void> {
  await db.deleteFrom('batch_items').where('batch_id', '=', id).where('org_id', '=', orgId).execute();
  await db.deleteFrom('batches').where('id', '=', id).where('org_id', '=', orgId).where('status', '=', 'preparing').execute();
}

/** Batches left `preparing` by a process that died while creating them (before `createdBefore`, ISO). */
export async function listStalePreparing(db: Executor, createdBefore: string): Promise<Array<{ orgId: string; id: string }>> {
  // Cross-org on purpose: the feeder's sweep serves every organization (each batch is then deleted within its own).
  const rows = await db.selectFrom('batches').select(['org_id', 'id']).where('status', '=', 'preparing').where('created_at', '<', createdBefore).limit(100).execute();
  return rows.map((r) => ({ orgId: r.org_id, id: r.id }));
}

export async function getBatch(db: Executor, orgId: string, id: string): Promise<Batch | undefined> {
  const row = await db.selectFrom('batches').selectAll().where('org_id', '=', orgId).where('id', '=', id).where('status', '<>', 'preparing').executeTakeFirst();
  return row && toBatch(row);
}

/** Newest first, after `beforeId`. */
export async function listBatches(db: Executor, orgId: string, page: { beforeId?: string; limit: number; process?: string; statuses?: readonly string[] }): Promise<Batch[]> {
  let q = db.selectFrom('batches').selectAll().where('org_id', '=', orgId).where('status', '<>', 'preparing');
  if (page.beforeId) q = q.where('id', '<', page.beforeId);
  if (page.process) q = q.where('process', '=', page.process);
  if (page.statuses && page.statuses.length > 0) q = q.where('status', 'in', page.statuses);
  const rows = await q.orderBy('id', 'desc').limit(page.limit).execute();
  return rows.map(toBatch);
}

/** Batches that may change by themselves (running or paused: runs in flight end), all organizations. */
export async function listLiveBatches(db: Executor, limit = 1000): Promise<Batch[]> {
  const rows = await db.selectFrom('batches').selectAll().where('status', 'in', ['running', 'paused']).orderBy('id').limit(limit).execute();
  return rows.map(toBatch);
}

/** Batches by id, of any organization: the feeder announces the end of the batches it saw live (cross-org on purpose, as listLiveBatches). */
export async function getBatchesByIds(db: Executor, ids: readonly string[]): Promise<Batch[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('batches').selectAll().where('id', 'in', ids).execute();
  return rows.map(toBatch);
}

/** Sets the status when it is one of `from`; false when it was not. */
export async function setBatchStatus(db: Executor, orgId: string, id: string, from: readonly BatchStatus[], to: BatchStatus, finishedAt?: string): Promise<boolean> {
  const result = await db
    .updateTable('batches')
    .set(finishedAt ? { status: to, finished_at: finishedAt } : { status: to })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Adds to the counters (a move of `n` items from one status to another is `{from: -n, to: +n}`). */
export async function moveCounters(db: Executor, orgId: string, id: string, delta: Partial<Record<'pending' | 'queued' | 'running' | 'failed' | 'skipped' | 'cancelled', number>>): Promise<void> {
  const set: Record<string, unknown> = {};
  for (const [column, n] of Object.entries(delta)) if (n) set[column] = sql`${sql.ref(column)} + ${n}`;
  if (Object.keys(set).length === 0) return;
  await db.updateTable('batches').set(set).where('id', '=', id).where('org_id', '=', orgId).execute();
}

/**
 * A batch whose items all ended is completed (also when paused); a completed batch with work again
 * (a retry) runs again. The same rule as migration 007's trigger, for moves the feeder and the actions make.
 */
export async function settleBatch(db: Executor, orgId: string, id: string, nowIso: string): Promise<void> {
  await db
    .updateTable('batches')
    .set({ status: 'completed', finished_at: nowIso })
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('status', 'in', ['running', 'paused'])
    .where('pending', '=', 0)
    .where('queued', '=', 0)
    .where('running', '=', 0)
    .execute();
  await db
    .updateTable('batches')
    .set({ status: 'running', finished_at: null })
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('status', '=', 'completed')
    .where((eb) => eb.or([eb('pending', '>', 0), eb('queued', '>', 0), eb('running', '>', 0)]))
    .execute();
}

/** Moves the rate sample on (the ETA uses the items ended between the two samples). */
export async function rollRate(db: Executor, orgId: string, id: string, now: number, done: number): Promise<void> {
  await db
    .updateTable('batches')
    .set((eb) => ({ rate_prev_at: eb.ref('rate_at'), rate_prev_done: eb.ref('rate_done'), rate_at: now, rate_done: done }))
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .execute();
}

/**
 * Runs a feed of batches (engine/batches/feeder.ts: items queued with their runs, counters moved) as one
 * transaction. On SQLite it is a write of the single writer, committed with the step results and claims
 * queued at the same time; a transaction of its own cost a COMMIT per feed and held the connection from
 * the writer meanwhile. On Postgres, a transaction.
 */
export function inFeedTransaction<T>(database: Database, fn: (trx: Executor) => Promise<T>): Promise<T> {
  return database.sqlite ? database.sqlite.writeKysely(fn) : database.db.transaction().execute(fn);
}

/**
 * Postgres: takes the batch's feeding lock for this transaction, or says another process holds it.
 * SQLite has one writer: nothing to take.
 */
export async function tryLockBatch(db: Executor, id: string): Promise<boolean> {
  if (adapterOf(db).name !== 'postgres') return true;
  const { rows } = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(72417012, hashtext(${id})) AS ok`.execute(db);
  return rows[0]!.ok;
}

/** The batch row, locked for this transaction on Postgres (SQLite's writer is single anyway). */
export async function getBatchForUpdate(db: Executor, orgId: string, id: string): Promise<Batch | undefined> {
  let q = db.selectFrom('batches').selectAll().where('id', '=', id).where('org_id', '=', orgId);
  if (adapterOf(db).rowLock('update') === 'update') q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row && toBatch(row);
}
