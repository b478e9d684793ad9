/**
 * The moves of a run made outside its worker's step commits, each one conditional UPDATE whose WHERE
 * takes its allowed statuses from the state machine (domain/run-states.ts): of two racing moves one
 * wins, the other changes nothing and says so. Every one filters by organization except the lease
 * bookkeeping of a worker, which filters by the worker's own lease (runs of every organization).
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './db.js';
import { updateRunSync, writeStepSync, type RunUpdate, type StepWrite } from './runs.js';
import { RUN_MOVES } from '../domain/run-states.js';
import { adapterOf } from './dialect.js';
import { renewLeases } from './run-claims.js';
import type { Tables } from './schema.js';

type Executor = Kysely<Tables> | Transaction<Tables>;

/**
 * requeueForRetry: a failed or cancelled run back to the queue, due now, to resume at `stepIndex`; its
 * steps from there on are deleted (they belong to the execution that stopped). False when the run is
 * not (or no longer) failed or cancelled. Run it in a transaction.
 */
export async function requeueForRetry(trx: Transaction<Tables>, orgId: string, id: string, stepIndex: number, now: number): Promise<boolean> {
  const result = await trx
    .updateTable('runs')
    .set({ status: RUN_MOVES.requeueForRetry.to, step_index: stepIndex, attempt: 0, error: null, finished_at: null, available_at: now, lease_owner: null, lease_expires_at: null, cancel_requested: adapterOf(trx).bool(false) })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('status', 'in', RUN_MOVES.requeueForRetry.from)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  await trx.deleteFrom('run_steps').where('org_id', '=', orgId).where('run_id', '=', id).where('idx', '>=', stepIndex).execute();
  return true;
}

/** requestCancel: flags a running run; its worker stops it before the next step. False when it is not running. */
export async function requestCancel(db: Executor, orgId: string, id: string): Promise<boolean> {
  const result = await db
    .updateTable('runs')
    .set({ cancel_requested: adapterOf(db).bool(true) })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('status', 'in', RUN_MOVES.requestCancel.from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** cancelNotStarted: a queued or waiting run (no worker holds it) is cancelled at once. False when it is neither. */
export async function cancelNotStarted(db: Executor, orgId: string, id: string, finishedAt: string): Promise<boolean> {
  const result = await db
    .updateTable('runs')
    .set({ status: RUN_MOVES.cancelNotStarted.to, finished_at: finishedAt, lease_owner: null, lease_expires_at: null })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('status', 'in', RUN_MOVES.cancelNotStarted.from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Whether a cancel was requested for the run (false when there is no such run of the organization). */
export async function isCancelRequested(db: Executor, orgId: string, id: string): Promise<boolean> {
  const row = await db.selectFrom('runs').select('cancel_requested').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return Boolean(row?.cancel_requested);
}

/** releaseOwned: every run `owner` still holds goes back to the queue, due now, to resume after its last committed step. */
// Cross-org on purpose: a worker serves every organization and hands back all it holds, found by its own lease.
export async function releaseOwned(db: Executor, owner: string, now: number): Promise<number> {
  const result = await db
    .updateTable('runs')
    .set({ status: RUN_MOVES.releaseOwned.to, lease_owner: null, lease_expires_at: null, available_at: now })
    .where('lease_owner', '=', owner)
    .where('status', 'in', RUN_MOVES.releaseOwned.from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Extends the leases `owner` holds on `ids` until `until` (run-claims.ts's renewLeases, told its database). */
// Cross-org on purpose: the worker's own leases, whatever their organizations (the owner is unique per worker).
export function renewOwnedLeases(db: Executor, owner: string, ids: readonly string[], until: number): Promise<void> {
  return renewLeases(db, adapterOf(db).name, owner, ids, until);
}

/**
 * Commits a step's result at once where that is the database's best way (SQLite: one synchronous write
 * of its single writer; false when the worker lost the run); undefined on Postgres, whose commits the
 * caller groups into shared transactions (engine/executor/commit-queue.ts).
 */
export function commitAtOnce(database: Database, c: { runId: string; orgId: string; owner: string; run: RunUpdate; step: StepWrite | null }): Promise<boolean> | undefined {
  return database.sqlite?.write((s) => {
    if (!updateRunSync(s, c.orgId, c.runId, c.owner, c.run)) return false;
    if (c.step) writeStepSync(s, c.step);
    return true;
  });
}

/** Resolves when the database's pending writes are done (SQLite's single writer; nothing to wait for on Postgres). */
export async function writesIdle(database: Database): Promise<void> {
  await database.sqlite?.idle();
}
