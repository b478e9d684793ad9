/**
 * Claiming runs and keeping their leases. Claiming is the one place where the dialects differ:
 * Postgres locks candidates with FOR UPDATE SKIP LOCKED; SQLite has a single writer anyway.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Dialect } from './db.js';
import { toRun, type Run } from './runs.js';
import type { RunsTable, Tables } from './schema.js';
import type { SqlSync } from './sqlite-writer.js';

type Executor = Kysely<Tables> | Transaction<Tables>;

export interface ClaimOptions {
  owner: string;
  now: number;
  leaseMs: number;
  limit: number;
}

/**
 * Claims up to `limit` due runs (queued or waiting with available_at ≤ now, or running with a lapsed
 * lease) for `owner`. Runs whose process is at its concurrency limit are left for later: `admit`
 * receives the candidates and the number of runs already running per "org\u0000process" and returns
 * the ids to take. Must be called inside a transaction.
 */
export async function claimRuns(
  trx: Transaction<Tables>,
  dialect: Dialect,
  o: ClaimOptions,
  admit: (candidates: Run[], running: Map<string, number>) => Promise<Set<string>> | Set<string>,
): Promise<Run[]> {
  const { candidates, running } = dialect === 'postgres' ? await claimCandidatesPostgres(trx, o) : await claimCandidates(trx, o);
  if (candidates.length === 0) return [];
  const chosen = await admit(candidates, running);
  const ids = candidates.filter((c) => chosen.has(c.id)).slice(0, o.limit).map((c) => c.id);
  if (ids.length === 0) return [];
  const nowIso = new Date(o.now).toISOString();
  const rows = await trx
    .updateTable('runs')
    .set({
      status: 'running',
      lease_owner: o.owner,
      lease_expires_at: o.now + o.leaseMs,
      started_at: sql`COALESCE(started_at, ${nowIso})`,
    })
    .where('id', 'in', ids)
    .returningAll()
    .execute();
  return rows.map(toRun).sort((a, b) => a.availableAt - b.availableAt);
}

interface ClaimCandidates {
  candidates: Run[];
  /** Runs running now (lease not lapsed) per "org\u0000process" of the candidates. */
  running: Map<string, number>;
}

async function claimCandidates(trx: Transaction<Tables>, o: ClaimOptions): Promise<ClaimCandidates> {
  const candidates = (
    await trx
      .selectFrom('runs')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('status', 'in', ['queued', 'waiting']), eb('available_at', '<=', o.now)]),
          eb.and([eb('status', '=', 'running'), eb('lease_expires_at', '<', o.now)]),
        ]),
      )
      .orderBy('available_at')
      .limit(o.limit * 2)
      .execute()
  ).map(toRun);
  if (candidates.length === 0) return { candidates, running: new Map() };
  const processes = [...new Set(candidates.map((c) => c.process))];
  const counts = await trx
    .selectFrom('runs')
    .select(['org_id', 'process', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '=', 'running')
    .where('lease_expires_at', '>=', o.now)
    .where('process', 'in', processes)
    .groupBy(['org_id', 'process'])
    .execute();
  return { candidates, running: new Map(counts.map((c) => [`${c.org_id}\u0000${c.process}`, Number(c.n)])) };
}

/**
 * Postgres: one claimer at a time (a transaction-scoped advisory lock) keeps concurrency limits exact
 * across workers — the candidates statement takes its snapshot after the lock is granted, so it sees
 * every run the previous claimer took. Candidates (locked, skipping rows other transactions hold) and
 * the running counts of their processes come back in one round trip.
 */
async function claimCandidatesPostgres(trx: Transaction<Tables>, o: ClaimOptions): Promise<ClaimCandidates> {
  await sql`SELECT pg_advisory_xact_lock(72417002)`.execute(trx);
  const { rows } = await sql<Selectable<RunsTable> & { running_now: number | null }>`
    WITH candidates AS (
      SELECT * FROM runs
      WHERE (status IN ('queued', 'waiting') AND available_at <= ${o.now}) OR (status = 'running' AND lease_expires_at < ${o.now})
      ORDER BY available_at
      LIMIT ${o.limit * 2}
      FOR UPDATE SKIP LOCKED
    ), busy AS (
      SELECT org_id, process, count(*) AS n FROM runs
      WHERE status = 'running' AND lease_expires_at >= ${o.now} AND process IN (SELECT process FROM candidates)
      GROUP BY org_id, process
    )
    SELECT c.*, busy.n AS running_now FROM candidates c LEFT JOIN busy USING (org_id, process)
    ORDER BY c.available_at`.execute(trx);
  const running = new Map<string, number>();
  for (const r of rows) if (r.running_now !== null) running.set(`${r.org_id}\u0000${r.process}`, Number(r.running_now));
  return { candidates: rows.map(toRun), running };
}

/** SQLite fast path of claimRuns, inside a SqliteWriter write (the single writer needs no locks). */
export function claimRunsSync(sq: SqlSync, o: ClaimOptions, admit: (candidates: Run[], running: Map<string, number>) => Set<string>): Run[] {
  const candidates = sq
    .all<Selectable<RunsTable>>(
      `select * from "runs" where ("status" in ('queued', 'waiting') and "available_at" <= ?) or ("status" = 'running' and "lease_expires_at" < ?) order by "available_at" limit ?`,
      [o.now, o.now, o.limit * 2],
    )
    .map(toRun);
  if (candidates.length === 0) return [];
  const processes = [...new Set(candidates.map((c) => c.process))];
  const counts = sq.all<{ org_id: string; process: string; n: number }>(
    `select "org_id", "process", count(*) as "n" from "runs" where "status" = 'running' and "lease_expires_at" >= ? and "process" in (${processes.map(() => '?').join(', ')}) group by "org_id", "process"`,
    [o.now, ...processes],
  );
  const running = new Map(counts.map((c) => [`${c.org_id}\u0000${c.process}`, c.n]));
  const chosen = admit(candidates, running);
  const ids = candidates.filter((c) => chosen.has(c.id)).slice(0, o.limit).map((c) => c.id);
  if (ids.length === 0) return [];
  const rows = sq.all<Selectable<RunsTable>>(
    `update "runs" set "status" = 'running', "lease_owner" = ?, "lease_expires_at" = ?, "started_at" = COALESCE("started_at", ?) where "id" in (${ids.map(() => '?').join(', ')}) returning *`,
    [o.owner, o.now + o.leaseMs, new Date(o.now).toISOString(), ...ids],
  );
  return rows.map(toRun).sort((a, b) => a.availableAt - b.availableAt);
}

/**
 * Extends the leases `owner` holds on `ids`. On Postgres rows locked right now (a step result being
 * committed) are skipped rather than waited for: one statement locking many rows while a group commit
 * locks some of them in another order would deadlock. A skipped lease is renewed on the next beat.
 */
export async function renewLeases(db: Executor, dialect: Dialect, owner: string, ids: readonly string[], until: number): Promise<void> {
  if (ids.length === 0) return;
  let query = db.updateTable('runs').set({ lease_expires_at: until }).where('lease_owner', '=', owner).where('status', '=', 'running');
  if (dialect === 'postgres') {
    query = query.where('id', 'in', (eb) =>
      eb.selectFrom('runs').select('id').where('id', 'in', ids).where('lease_owner', '=', owner).orderBy('id').forUpdate().skipLocked(),
    );
  } else {
    query = query.where('id', 'in', ids);
  }
  await query.execute();
}
