/**
 * Claiming runs and keeping their leases. Claiming is the one place where the dialects differ:
 * Postgres locks candidates with FOR UPDATE SKIP LOCKED; SQLite has a single writer anyway.
 */
import { CompiledQuery, sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, Dialect } from './db.js';
import { adapterOf, PG_CLAIM_LOCK } from './dialect.js';
import { toEntity, type EntityRecord } from './entities.js';
import { toRun, type Run, type RunStatus } from './runs.js';
import type { EntitiesTable, RunsTable, Tables } from './schema.js';
import type { SqlSync } from './sqlite-writer.js';

type Executor = Kysely<Tables> | Transaction<Tables>;

export interface ClaimOptions {
  owner: string;
  now: number;
  leaseMs: number;
  limit: number;
  /**
   * When capped runs fill the window of candidates, look past them for other processes' runs (default
   * true). That second look scans past the capped backlog, so the worker skips it when it knows it
   * would find nothing new (see the executor).
   */
  lookPast?: boolean;
  /**
   * Also take running runs whose lease lapsed (their worker died or stalled; default true). Looking for
   * them reads every running run in both arms of the candidates statement (0.64 ms instead of 0.19–0.43 ms
   * with a batch's 360 queued and 225 running runs), so a busy worker looks only now and then (the executor).
   */
  lapsed?: boolean;
}

/**
 * Runs a claim the way the database needs it: on SQLite as one synchronous write of its single writer
 * (`sync`, with claimRunsSync), on Postgres in a transaction that already holds the claim lock (`async`,
 * with claimRuns).
 */
export function claimInWrite<T>(database: Database, plan: { sync(s: SqlSync): T; async(trx: Executor): Promise<T> }): Promise<T> {
  return database.sqlite ? database.sqlite.write(plan.sync) : claimTransaction(database.db, plan.async);
}

/** Connections inside a claimTransaction: they hold the claim lock already (claimRuns does not ask again). */
const holdingClaimLock = new WeakSet<Executor>();

/**
 * Postgres: the claim's transaction with BEGIN and the claim lock in one round trip (two statements of the
 * simple protocol, no parameters): a claim is then BEGIN + lock, candidates, UPDATE (with the entities),
 * COMMIT — 4 round trips instead of 6 (BEGIN, lock, candidates, UPDATE, entity read, COMMIT). The lock is
 * granted before the candidates statement takes its snapshot, as with the lock as a statement of its own.
 */
async function claimTransaction<T>(db: Kysely<Tables>, fn: (trx: Executor) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql.raw(`BEGIN; ${PG_CLAIM_LOCK}`).execute(conn);
    holdingClaimLock.add(conn);
    try {
      const result = await fn(conn);
      await sql.raw('COMMIT').execute(conn);
      return result;
    } catch (err) {
      await sql.raw('ROLLBACK').execute(conn).catch(() => {});
      throw err;
    } finally {
      holdingClaimLock.delete(conn);
    }
  });
}

/** What admission needs of a candidate (the claimed runs come back whole from the UPDATE). */
export interface Candidate {
  id: string;
  orgId: string;
  process: string;
  processVersion: number;
  status: RunStatus;
  availableAt: number;
}

/** What the caller decides about one round of candidates. */
export interface Admission {
  /** Ids of the candidates to take. */
  take: Set<string>;
  /** "org\u0000process" keys found at their concurrency cap: the next round looks past their runs. */
  full: Set<string>;
}

/**
 * Receives the candidates of a round and the runs running now per "org\u0000process" (lease not
 * lapsed, runs taken in earlier rounds of this claim not included) and decides which to take.
 */
export type Admit = (candidates: Candidate[], running: Map<string, number>) => Admission;

export interface ClaimResult {
  /** The runs claimed, leased to the owner, oldest due first. */
  runs: Run[];
  /** Due candidates left out because their process was at its cap. */
  capped: number;
  /** Earliest `available_at` after `now` of a queued or waiting run (a retry or delay), or null. */
  nextDueAt: number | null;
  /** Candidates found by looking past the capped ones; null when the claim did not look past. */
  foundPast: number | null;
  /**
   * Postgres: the claimed runs' entities by run id (null: the entity is gone), read by the claim's UPDATE
   * itself. Absent on SQLite, where the caller reads them in the same synchronous write.
   */
  entities?: Map<string, EntityRecord | null>;
}

/**
 * A claim looks at the 2 × limit oldest due runs. When the runs of processes at their cap fill that
 * window, it looks once more past them (in the same transaction), so that a backlog of one capped
 * process cannot hide the due runs of every other process behind it.
 */
const MAX_ROUNDS = 2;

/**
 * Claims up to `limit` due runs (queued or waiting with available_at ≤ now, or running with a lapsed
 * lease) for `owner`. Runs of a disabled process that have not started (queued or waiting) are not
 * candidates: they stay as they are until the process is enabled again. Runs whose process is at its
 * concurrency limit are left for later by `admit`. Must be called inside a transaction.
 */
export async function claimRuns(trx: Executor, o: ClaimOptions, admit: (...a: Parameters<Admit>) => Promise<Admission> | Admission): Promise<ClaimResult> {
  const adapter = adapterOf(trx);
  const dialect = adapter.name;
  // One claimer at a time (Postgres: a transaction-scoped advisory lock per schema) keeps concurrency
  // limits exact across workers: the candidates statement takes its snapshot after the lock is granted,
  // so it sees every run the previous claimer took. Installations (and test suites) that share a
  // database in different schemas do not wait for each other's claims. claimInWrite took it with BEGIN.
  if (!holdingClaimLock.has(trx)) await adapter.lockClaims(trx as Transaction<Tables>);
  // Cross-org on purpose here and below: a worker claims due runs of every organization (runs_claim index).
  const rounds = new Rounds(o);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const q = candidatesQuery(dialect, o, rounds);
    const found = readCandidates((await trx.executeQuery<CandidateRow>(CompiledQuery.raw(q.sql, q.params))).rows);
    if (!rounds.next(found, found.candidates.length > 0 ? await admit(found.candidates, found.running) : undefined)) break;
  }
  if (rounds.ids.length === 0) return rounds.result([]);
  const nowIso = new Date(o.now).toISOString();
  const update = trx
    .updateTable('runs')
    .set({
      status: 'running',
      lease_owner: o.owner,
      lease_expires_at: o.now + o.leaseMs,
      started_at: sql`COALESCE(started_at, ${nowIso})`,
    })
    .where('id', 'in', rounds.ids)
    .returningAll();
  if (dialect !== 'postgres') return rounds.result((await update.execute()).map(toRun));
  // Postgres: the claimed runs' entities come back with them (one round trip fewer per claim).
  const rows = await trx
    .with('claimed', () => update)
    .selectFrom('claimed')
    .leftJoin('entities as e', (j) => j.onRef('e.org_id', '=', 'claimed.org_id').onRef('e.type', '=', 'claimed.entity_type').onRef('e.id', '=', 'claimed.entity_id'))
    .selectAll('claimed')
    .select(ENTITY_COLUMNS.map((c) => `e.${c} as e__${c}` as const))
    .execute();
  const entities = new Map<string, EntityRecord | null>();
  for (const r of rows as unknown as Array<Record<string, unknown>>) {
    const e = Object.fromEntries(ENTITY_COLUMNS.map((c) => [c, r[`e__${c}`]])) as unknown as Selectable<EntitiesTable>;
    entities.set(r.id as string, e.id === null ? null : toEntity(e));
  }
  return { ...rounds.result((rows as unknown as Array<Selectable<RunsTable>>).map(toRun)), entities };
}

const ENTITY_COLUMNS = ['id', 'org_id', 'type', 'status', 'attributes', 'version', 'created_at', 'updated_at'] as const;

/** SQLite fast path of claimRuns, inside a SqliteWriter write (the single writer needs no locks). */
export function claimRunsSync(sq: SqlSync, o: ClaimOptions, admit: Admit): ClaimResult {
  // Cross-org on purpose, as claimRuns: the worker serves every organization.
  const rounds = new Rounds(o);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const q = candidatesQuery('sqlite', o, rounds);
    const found = readCandidates(sq.all<CandidateRow>(q.sql, q.params));
    if (!rounds.next(found, found.candidates.length > 0 ? admit(found.candidates, found.running) : undefined)) break;
  }
  if (rounds.ids.length === 0) return rounds.result([]);
  const rows = sq.all<Selectable<RunsTable>>(
    `update "runs" set "status" = 'running', "lease_owner" = ?, "lease_expires_at" = ?, "started_at" = COALESCE("started_at", ?) where "id" in (${rounds.ids.map(() => '?').join(', ')}) returning *`,
    [o.owner, o.now + o.leaseMs, new Date(o.now).toISOString(), ...rounds.ids],
  );
  return rounds.result(rows.map(toRun));
}

type CandidateRow = Pick<Selectable<RunsTable>, 'id' | 'org_id' | 'process' | 'process_version' | 'status' | 'available_at'> & {
  running_now: number | null;
  next_due_at: number | null;
};

interface Candidates {
  candidates: Candidate[];
  /** Runs running now (lease not lapsed) per "org\u0000process" of the candidates. */
  running: Map<string, number>;
  nextDueAt: number | null;
}

function readCandidates(rows: CandidateRow[]): Candidates {
  const running = new Map<string, number>();
  const candidates: Candidate[] = [];
  let nextDueAt: number | null = null;
  for (const r of rows) {
    if (r.next_due_at !== null) nextDueAt = Number(r.next_due_at);
    if (r.id === null) continue; // the one row of a round with no candidates
    if (r.running_now !== null) running.set(`${r.org_id}\u0000${r.process}`, Number(r.running_now));
    candidates.push({ id: r.id, orgId: r.org_id, process: r.process, processVersion: r.process_version, status: r.status as RunStatus, availableAt: Number(r.available_at) });
  }
  return { candidates, running, nextDueAt };
}

/** The rounds of one claim: what was seen, taken and found full so far. */
class Rounds {
  readonly ids: string[] = [];
  readonly seen: string[] = [];
  readonly full: Array<[org: string, process: string]> = [];
  #fullKeys = new Set<string>();
  #capped = 0;
  #nextDueAt: number | null = null;
  #round = 0;
  #foundPast: number | null = null;

  constructor(private readonly o: ClaimOptions) {}

  /** Records a round; true when another round may find more to take. */
  next(found: Candidates, admission: Admission | undefined): boolean {
    this.#nextDueAt = found.nextDueAt;
    if (this.#round++ > 0) this.#foundPast = (this.#foundPast ?? 0) + found.candidates.length;
    if (!admission) return false;
    let newlyFull = 0;
    for (const c of found.candidates) {
      this.seen.push(c.id);
      const key = `${c.orgId}\u0000${c.process}`;
      if (admission.take.has(c.id)) {
        if (this.ids.length < this.o.limit) this.ids.push(c.id);
      } else if (admission.full.has(key)) {
        this.#capped++;
        if (!this.#fullKeys.has(key)) {
          this.#fullKeys.add(key);
          this.full.push([c.orgId, c.process]);
          newlyFull++;
        }
      }
    }
    // Another look only helps when this window was full (more due runs lie behind it), processes at
    // their cap took part of it, and there are slots left.
    return (this.o.lookPast ?? true) && found.candidates.length >= this.o.limit * 2 && newlyFull > 0 && this.ids.length < this.o.limit;
  }

  result(runs: Run[]): ClaimResult {
    return { runs: runs.sort((a, b) => a.availableAt - b.availableAt), capped: this.#capped, nextDueAt: this.#nextDueAt, foundPast: this.#foundPast };
  }
}

/**
 * One round's statement, the same on both databases but for the placeholders and Postgres's row locks:
 * the due candidates (not those already seen in this claim, nor of processes found full), the running
 * counts of their processes, and the next due time of a run waiting for later — in one round trip.
 * A candidate query that finds nothing still returns one row (the next due time).
 */
function candidatesQuery(dialect: Dialect, o: ClaimOptions, r: Rounds): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return dialect === 'postgres' ? `$${params.length}` : '?';
  };
  const now = () => p(o.now); // each use its own parameter: SQLite's ? are positional
  // Live runs first (issue 12): status-triggered and hand-started runs are looked at, and taken, before
  // batch runs, so a save made during a large batch does not wait behind the batch's queued runs. Each
  // kind is read in due order from its own index (runs_claim; runs_batch_due for batch runs). Built in
  // the order the text reads (positional parameters), each arm with parameters of its own.
  const pick = (batch: boolean) => {
    const due = `(r.status IN ('queued', 'waiting') AND r.available_at <= ${now()}
              AND NOT EXISTS (SELECT 1 FROM processes d WHERE d.org_id = r.org_id AND d.key = r.process AND NOT d.enabled))`;
    const lapsed = o.lapsed === false ? '' : ` OR (r.status = 'running' AND r.lease_expires_at < ${now()})`;
    const notSeen = r.seen.length > 0 ? `AND r.id NOT IN (${r.seen.map(p).join(', ')})` : '';
    const notFull = r.full.length > 0 ? `AND NOT (${r.full.map(([org, proc]) => `(r.org_id = ${p(org)} AND r.process = ${p(proc)})`).join(' OR ')})` : '';
    return `SELECT r.id, r.org_id, r.process, r.process_version, r.status, r.available_at, r.batch_id FROM runs r
      WHERE (${due}${lapsed}) AND r.batch_id IS ${batch ? 'NOT ' : ''}NULL ${notSeen} ${notFull}
      ORDER BY r.available_at
      LIMIT ${p(o.limit * 2)}${dialect === 'postgres' ? ' FOR UPDATE OF r SKIP LOCKED' : ''}`;
  };
  const live = pick(false);
  const batch = pick(true);
  const running = now();
  const later = now();
  return {
    sql: `WITH live AS (${live}), batch AS (${batch}),
    candidates AS (SELECT * FROM live UNION ALL SELECT * FROM batch),
    busy AS (
      SELECT org_id, process, count(*) AS n FROM runs
      WHERE status = 'running' AND lease_expires_at >= ${running} AND process IN (SELECT process FROM candidates)
      GROUP BY org_id, process
    ), later AS (
      SELECT min(available_at) AS next_due_at FROM runs WHERE status IN ('queued', 'waiting') AND available_at > ${later}
    )
    SELECT c.id, c.org_id, c.process, c.process_version, c.status, c.available_at, busy.n AS running_now, later.next_due_at FROM later
    LEFT JOIN candidates c ON 1 = 1
    LEFT JOIN busy ON busy.org_id = c.org_id AND busy.process = c.process
    ORDER BY CASE WHEN c.batch_id IS NULL THEN 0 ELSE 1 END, c.available_at`,
    params,
  };
}

/**
 * Extends the leases `owner` holds on `ids`. On Postgres rows locked right now (a step result being
 * committed) are skipped rather than waited for: one statement locking many rows while a group commit
 * locks some of them in another order would deadlock. A skipped lease is renewed on the next beat.
 */
export async function renewLeases(db: Executor, dialect: Dialect, owner: string, ids: readonly string[], until: number): Promise<void> {
  if (ids.length === 0) return;
  // Cross-org on purpose: the worker's own leases (owner is unique per worker), whatever their organizations.
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
