/**
 * The write of a save. The engine (engine/save.ts) validates, evaluates and decides; this writes, all or
 * nothing: the entity (insert, or update at the version read before) only if its entity type is still at
 * the version the save was validated against, its event, and the runs the statuses it entered trigger.
 * The runs are planned by the engine's `RunPlanner` (loop protection), called inside the write.
 * SQLite: one synchronous write of the SqliteWriter group. Postgres: one statement (save-statement.ts),
 * plus a second in the same transaction when processes start. See ARCHITECTURE.md.
 */
import type { Transaction } from 'kysely';
import type { Database } from './db.js';
import { adapterOf } from './dialect.js';
import { insertEntitySync, insertEventSync, isUniqueViolation, updateEntitySync } from './entities.js';
import { getEntityTypeVersionSync } from './entity-types.js';
import { findTriggeredProcesses, findTriggeredProcessesSync, type TriggeredProcess } from './processes.js';
import { countRunsOfRoot, countRunsOfRootSync, lockRunTree } from './run-chains.js';
import { insertRuns, insertRunsSync, type NewRun } from './runs.js';
import { CauseRepeated, saveStatement, type SaveWrite } from './save-statement.js';
import type { Tables } from './schema.js';
import type { SqliteWriter, SqlSync } from './sqlite-writer.js';

export type { TriggeredProcess } from './processes.js';
export type { SaveWrite } from './save-statement.js';

/** What the engine decides about the runs a save queues (engine/run-queue.ts). May throw to refuse the save. */
export interface RunPlanner {
  /** The runs the triggered processes start. */
  plan(triggered: TriggeredProcess[]): NewRun[];
  /** Set when a run's task made the save: the first run of its cause chain, whose runs are bounded. */
  rootRunId?: string;
  /** Throws when `adding` runs more than the chain's `existing` ones would pass the bound. */
  checkFanOut(adding: number, existing: number): void;
}

export type QueuedRun = { id: string; process: string };

export type SaveWriteOutcome =
  | { kind: 'written'; queued: QueuedRun[] }
  /** The entity type is gone or at another version: nothing was written. */
  | { kind: 'type_moved' }
  /** (Update) the entity is gone or at another version: nothing was written. */
  | { kind: 'entity_moved' }
  /** An event with this cause key exists (the process step saved already): nothing was written. */
  | { kind: 'cause_repeated' };

/** Writes a save; whatever the outcome, it was written whole or not at all. */
export async function writeSave(database: Database, w: SaveWrite, planner: RunPlanner): Promise<SaveWriteOutcome> {
  try {
    return database.sqlite ? await writeSaveSqlite(database.sqlite, w, planner) : await writeSavePostgres(database, w, planner);
  } catch (err) {
    if (err instanceof CauseRepeated) return { kind: 'cause_repeated' };
    throw err;
  }
}

/** SQLite: plain statements inside a SqliteWriter group (the single writer needs no lock). */
function writeSaveSqlite(writer: SqliteWriter, w: SaveWrite, planner: RunPlanner): Promise<SaveWriteOutcome> {
  return writer.write((s): SaveWriteOutcome => {
    if (getEntityTypeVersionSync(s, w.orgId, w.entity.type) !== w.typeVersion) return { kind: 'type_moved' };
    if (w.expectedVersion === undefined) insertEntitySync(s, w.entity);
    else if (!updateEntitySync(s, w.entity, w.expectedVersion)) return { kind: 'entity_moved' };
    try {
      insertEventSync(s, w.orgId, w.event, w.causeKey);
    } catch (err) {
      // Thrown, so that the group rolls back the entity written above.
      throw w.causeKey !== null && isUniqueViolation(err) ? new CauseRepeated() : err;
    }
    return { kind: 'written', queued: queueRunsSync(s, w, planner) };
  });
}

function queueRunsSync(s: SqlSync, w: SaveWrite, planner: RunPlanner): QueuedRun[] {
  if (w.entered.length === 0) return [];
  const runs = planner.plan(findTriggeredProcessesSync(s, w.orgId, w.entity.type, w.entered));
  if (runs.length === 0) return [];
  if (planner.rootRunId !== undefined) planner.checkFanOut(runs.length, countRunsOfRootSync(s, w.orgId, planner.rootRunId));
  return inserted(runs, insertRunsSync(s, runs));
}

/**
 * Queues the runs the statuses `entered` trigger, inside the caller's transaction; `triggered`: the
 * processes, when the caller read them already. On Postgres the chain's root is locked, so two saves
 * cannot both take the last place under the fan-out bound.
 */
export async function queueRunsIn(
  trx: Transaction<Tables>,
  s: { orgId: string; entityType: string; entered: readonly string[] },
  planner: RunPlanner,
  triggered?: TriggeredProcess[],
): Promise<QueuedRun[]> {
  if (s.entered.length === 0) return [];
  const runs = planner.plan(triggered ?? (await findTriggeredProcesses(trx, s.orgId, s.entityType, s.entered)));
  if (runs.length === 0) return [];
  if (planner.rootRunId !== undefined) {
    if (adapterOf(trx).name === 'postgres') await lockRunTree(trx, planner.rootRunId);
    planner.checkFanOut(runs.length, await countRunsOfRoot(trx, s.orgId, planner.rootRunId));
  }
  return inserted(runs, await insertRuns(trx, runs));
}

function inserted(runs: NewRun[], ids: string[]): QueuedRun[] {
  const kept = new Set(ids);
  return runs.filter((r) => kept.has(r.id)).map((r) => ({ id: r.id, process: r.process }));
}

/**
 * Entity types whose last save on Postgres started a process (keys `org\0type`), per database: their next
 * save opens a transaction at once instead of trying the single statement first. Only a hint; bounded.
 */
const startsProcesses = new WeakMap<Database, Set<string>>();

/**
 * Postgres: one statement outside a transaction when no process is expected to start (none can without
 * a status entered): it writes only if that holds, else the save is made again in a transaction, where
 * the same statement is followed by the runs' insert.
 */
async function writeSavePostgres(database: Database, w: SaveWrite, planner: RunPlanner): Promise<SaveWriteOutcome> {
  let hints = startsProcesses.get(database);
  if (!hints) startsProcesses.set(database, (hints = new Set()));
  const hintKey = `${w.orgId}\u0000${w.entity.type}`;
  if (w.entered.length === 0 || !hints.has(hintKey)) {
    const alone = await saveStatement(database.db, w, true);
    if (alone.kind !== 'triggered') {
      // Only a save that entered a status tells whether the type's saves start processes.
      if (alone.kind === 'written' && w.entered.length > 0) hints.delete(hintKey);
      return alone;
    }
    if (hints.size >= 10_000) hints.clear();
    hints.add(hintKey);
  }
  return database.db.transaction().execute(async (trx): Promise<SaveWriteOutcome> => {
    const outcome = await saveStatement(trx, w, false);
    if (outcome.kind !== 'triggered') {
      if (outcome.kind === 'written') hints.delete(hintKey);
      return outcome;
    }
    const queued = await queueRunsIn(trx, { orgId: w.orgId, entityType: w.entity.type, entered: w.entered }, planner, outcome.triggered);
    return { kind: 'written', queued };
  });
}
