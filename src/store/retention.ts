/**
 * Retention's SQL: deleting finished runs (with their steps) and events in small chunks, giving the
 * space back on SQLite, and the storage figures of the status endpoint. The pruner that paces these is
 * engine/retention.ts.
 *
 * Every delete is one short transaction of at most `limit` rows. On SQLite it is one write of the
 * group-committing writer (sqlite-writer.ts), so it commits between and together with saves, never
 * holding the writer for long; on Postgres candidates are locked `FOR UPDATE SKIP LOCKED`, so a run
 * a user is retrying at that moment is skipped rather than waited for.
 */
import { existsSync, statSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import type { Database } from './db.js';

/** What one chunk deleted; `lastId` is the last run deleted (the next chunk continues after it). */
export interface PruneChunk {
  runs: number;
  steps: number;
  lastId: string | null;
}

const FINISHED = `('succeeded', 'failed', 'cancelled')`;

/**
 * Runs of unfinished batches (running or paused; migration 007) are kept whatever their age: a batch's
 * items point at their runs, and a paused batch may wait for days. Once the batch has completed or was
 * cancelled its runs age like any other; the batch and its items stay (an item keeps its status and
 * error after its run is pruned: about 100 bytes per item).
 */
const KEEP_UNFINISHED_BATCHES = `AND (batch_id IS NULL OR batch_id NOT IN (SELECT id FROM batches WHERE status IN ('preparing', 'running', 'paused')))`;

/** The rows a chunk may delete: finished, not pinned, not of an unfinished batch. */
const DELETABLE = `status IN ${FINISHED} AND pinned = %FALSE% ${KEEP_UNFINISHED_BATCHES}`;

function deletable(dialect: Database['dialect']): string {
  return DELETABLE.replace('%FALSE%', dialect === 'sqlite' ? '0' : 'false');
}

/** Deletes the chosen runs (`select` yields their ids) and their steps; SQLite runs it as one write. */
async function deleteRuns(database: Database, select: string, params: readonly unknown[]): Promise<PruneChunk> {
  // Cross-org on purpose: retention sweeps every organization; the steps go with the runs `select` chose.
  if (database.sqlite) {
    return database.sqlite.write((s) => {
      const ids = s.all<{ id: string }>(select, params).map((r) => r.id);
      if (ids.length === 0) return { runs: 0, steps: 0, lastId: null };
      const list = JSON.stringify(ids);
      // One JSON parameter keeps the statement text constant (it stays in the statement cache).
      const steps = s.run('DELETE FROM run_steps WHERE run_id IN (SELECT value FROM json_each(?))', [list]);
      const runs = s.run('DELETE FROM runs WHERE id IN (SELECT value FROM json_each(?))', [list]);
      return { runs, steps, lastId: ids[ids.length - 1]! };
    });
  }
  // Postgres: the candidates are locked, skipping any a retry or cancel holds at this moment.
  const { rows } = await sql<{ runs: number; steps: number; last_id: string | null }>`
    WITH victims AS (${withParams(select, params)} FOR UPDATE SKIP LOCKED),
    steps AS (DELETE FROM run_steps WHERE run_id IN (SELECT id FROM victims) RETURNING 1),
    gone AS (DELETE FROM runs WHERE id IN (SELECT id FROM victims) RETURNING id)
    SELECT (SELECT count(*) FROM gone)::int AS runs, (SELECT count(*) FROM steps)::int AS steps, (SELECT max(id) FROM gone) AS last_id`.execute(database.db);
  const r = rows[0]!;
  return { runs: r.runs, steps: r.steps, lastId: r.last_id };
}

/** SQL text with `?` placeholders as a Kysely fragment with its parameters bound in order. */
function withParams(text: string, params: readonly unknown[]) {
  const parts = text.split('?');
  return sql.join(
    parts.map((part, i) => (i < params.length ? sql`${sql.raw(part)}${params[i]}` : sql.raw(part))),
    sql.raw(''),
  );
}

/**
 * Deletes up to `limit` finished, unpinned runs that finished before `finishedBefore` (ISO), looking
 * only at runs queued before `beforeId` (ids are time-ordered: the primary key finds old runs, no
 * index by finish time is needed) and after `afterId`.
 */
export function pruneRunsByAge(database: Database, o: { beforeId: string; finishedBefore: string; afterId: string | null; limit: number }): Promise<PruneChunk> {
  // Cross-org on purpose: the age limit is one setting for the whole installation.
  const select = `SELECT id FROM runs WHERE id < ? AND id > ? AND finished_at < ? AND ${deletable(database.dialect)} ORDER BY id LIMIT ?`;
  return deleteRuns(database, select, [o.beforeId, o.afterId ?? '', o.finishedBefore, o.limit]);
}

/** The processes whose finished runs the count limit applies to (every organization's). */
export async function listProcessKeys(database: Database): Promise<Array<{ orgId: string; process: string }>> {
  // Cross-org on purpose: the sweep then prunes each (org, process) within its organization.
  const rows = await database.db.selectFrom('processes').select(['org_id', 'key']).orderBy('org_id').orderBy('key').execute();
  return rows.map((r) => ({ orgId: r.org_id, process: r.key }));
}

/** The newest finished run of a process beyond its newest `keep` (by finish time, then id); null when it has no more than `keep`. */
export async function countBoundary(database: Database, orgId: string, process: string, keep: number): Promise<{ finishedAt: string | Date; id: string } | null> {
  const row = await database.db
    .selectFrom('runs')
    .select(['finished_at', 'id'])
    .where('org_id', '=', orgId)
    .where('process', '=', process)
    .where('finished_at', 'is not', null)
    .orderBy('finished_at', 'desc')
    .orderBy('id', 'desc')
    .offset(keep)
    .limit(1)
    .executeTakeFirst();
  return row ? { finishedAt: row.finished_at!, id: row.id } : null;
}

/** Deletes up to `limit` finished, unpinned runs of a process at or beyond `boundary` (oldest first). */
export function pruneRunsBeyond(database: Database, orgId: string, process: string, boundary: { finishedAt: string | Date; id: string }, limit: number): Promise<PruneChunk> {
  const select =
    'SELECT id FROM runs WHERE org_id = ? AND process = ? AND finished_at IS NOT NULL AND (finished_at < ? OR (finished_at = ? AND id <= ?)) ' +
    `AND ${deletable(database.dialect)} ORDER BY finished_at, id LIMIT ?`;
  return deleteRuns(database, select, [orgId, process, boundary.finishedAt, boundary.finishedAt, boundary.id, limit]);
}

/** Deletes up to `limit` events made before the id `beforeId` (ids are time-ordered); the number deleted. */
export async function pruneEvents(database: Database, beforeId: string, limit: number): Promise<number> {
  // Cross-org on purpose: the age limit is one setting for the whole installation.
  const text = 'DELETE FROM entity_events WHERE id IN (SELECT id FROM entity_events WHERE id < ? ORDER BY id LIMIT ?)';
  if (database.sqlite) return database.sqlite.write((s) => s.run(text, [beforeId, limit]));
  const result = await sql`DELETE FROM entity_events WHERE id IN (SELECT id FROM entity_events WHERE id < ${beforeId} ORDER BY id LIMIT ${limit})`.execute(database.db);
  return Number(result.numAffectedRows ?? 0);
}

/** SQLite pages: size, count, free (on the freelist), and the auto_vacuum mode (0 none, 1 full, 2 incremental). */
export interface SqlitePages {
  pageSize: number;
  pageCount: number;
  freePages: number;
  autoVacuum: number;
}

/** True when the database gives pruned space back to the file system by incremental vacuum (SQLite). */
export function vacuumsIncrementally(database: Database): boolean {
  return database.sqlite !== undefined;
}

export function sqlitePages(database: Database): Promise<SqlitePages> {
  return database.sqlite!.read((s) => ({
    pageSize: s.get<{ page_size: number }>('PRAGMA page_size')!.page_size,
    pageCount: s.get<{ page_count: number }>('PRAGMA page_count')!.page_count,
    freePages: s.get<{ freelist_count: number }>('PRAGMA freelist_count')!.freelist_count,
    autoVacuum: s.get<{ auto_vacuum: number }>('PRAGMA auto_vacuum')!.auto_vacuum,
  }));
}

/** SQLite in incremental auto_vacuum: returns up to `pages` free pages to the file system (one write); the pages returned. */
export function incrementalVacuum(database: Database, pages: number): Promise<number> {
  return database.sqlite!.write((s) => {
    const before = s.get<{ page_count: number }>('PRAGMA page_count')!.page_count;
    const free = s.get<{ freelist_count: number }>('PRAGMA freelist_count')!.freelist_count;
    // The statement returns one (column-less) row per page it frees, and better-sqlite3's run() steps a
    // statement once: so it is run once per page, which frees one page each time.
    for (let i = Math.min(free, Math.max(1, Math.floor(pages))); i > 0; i--) s.run('PRAGMA incremental_vacuum(1)');
    return before - s.get<{ page_count: number }>('PRAGMA page_count')!.page_count;
  });
}

/** Sizes for the status endpoint, bytes. */
export interface StorageFigures {
  dialect: Database['dialect'];
  /** SQLite: the database file and its WAL; Postgres: the whole database (pg_database_size). */
  databaseBytes: number;
  walBytes?: number;
  /** SQLite: space on the freelist (reused by new rows; returned to the file system only in incremental auto_vacuum). */
  freeBytes?: number;
  autoVacuum?: 'none' | 'full' | 'incremental';
  /** Postgres: runs, run_steps and entity_events with their indexes and TOAST. */
  tables?: Record<string, number>;
}

export async function storageFigures(database: Database): Promise<StorageFigures> {
  if (database.sqlite) {
    const p = await sqlitePages(database);
    const size = (path: string) => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    };
    return {
      dialect: 'sqlite',
      databaseBytes: database.path ? size(database.path) : p.pageCount * p.pageSize,
      walBytes: database.path ? size(`${database.path}-wal`) : 0,
      freeBytes: p.freePages * p.pageSize,
      autoVacuum: (['none', 'full', 'incremental'] as const)[p.autoVacuum] ?? 'none',
    };
  }
  const { rows } = await sql<{ db: number; runs: number; run_steps: number; entity_events: number }>`
    SELECT pg_database_size(current_database()) AS db, pg_total_relation_size('runs') AS runs,
      pg_total_relation_size('run_steps') AS run_steps, pg_total_relation_size('entity_events') AS entity_events`.execute(database.db);
  const r = rows[0]!;
  return { dialect: 'postgres', databaseBytes: Number(r.db), tables: { runs: Number(r.runs), run_steps: Number(r.run_steps), entity_events: Number(r.entity_events) } };
}

/** What `statusflow vacuum` did. */
export interface RebuildResult {
  bytesBefore: number;
  bytesAfter: number;
  ms: number;
  /** The mode before (the mode after is always incremental). */
  autoVacuumBefore: 'none' | 'full' | 'incremental';
}

export class DatabaseInUseError extends Error {
  override name = 'DatabaseInUseError';
}

/**
 * Rebuilds an SQLite database file (VACUUM) in incremental auto_vacuum, the mode in which pruning gives
 * space back; a database created before that mode existed here needs it once. Refuses while any other
 * connection (a running server) has the file open: VACUUM would hold the writer for its whole length.
 * Needs free disk space about the size of the database while it runs.
 */
export function rebuildSqlite(path: string): RebuildResult {
  const sizeOf = () => statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
  const bytesBefore = sizeOf();
  const t0 = Date.now();
  const db = new SQLite(path, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 0');
    // In WAL mode an exclusive lock is granted only when no other connection has the file open.
    db.pragma('locking_mode = EXCLUSIVE');
    try {
      db.exec('BEGIN EXCLUSIVE; COMMIT;');
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DatabaseInUseError(`${path} is in use (is statusflow running?): stop it first`);
      throw err;
    }
    const autoVacuumBefore = (['none', 'full', 'incremental'] as const)[db.pragma('auto_vacuum', { simple: true }) as number] ?? 'none';
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    return { bytesBefore, bytesAfter: sizeOf(), ms: Date.now() - t0, autoVacuumBefore };
  } finally {
    if (db.open) db.close();
  }
}
