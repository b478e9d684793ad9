/**
 * The shared sliding-window rate limit, in the database so every worker of every process sees the same
 * window (DESIGN.md "Execution": such a table held a 20-per-2 s limit across two processes exactly, a
 * naive token bucket let about twice that through). One short transaction per attempt: Postgres
 * serialises the attempts of one connection with an advisory lock and reads the database's clock
 * (one clock for all machines); SQLite has a single writer (BEGIN IMMEDIATE) and one machine's clock.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './db.js';
import type { Tables } from './schema.js';
import { adapterOf } from './dialect.js';

export interface RateLimit {
  /** At most this many slots… */
  requests: number;
  /** …in any window of this many milliseconds. */
  perMs: number;
}

/** One attempt's answer: a slot (at epoch ms) or how long to wait before trying again. */
export type SlotAttempt = { granted: true; at: number } | { granted: false; waitMs: number };

/** Locks of rate-limit windows, in the two-key advisory-lock space (apart from the single-key locks of runs and migrations). */
const LOCK_CLASS = 72417003;


interface WindowState {
  now: number;
  /** The `requests`-th newest slot inside the window (the window is full when there is one). */
  nth: number | null;
  paused_until: number | null;
}

/**
 * Tries to take one slot of `limit` for (org, connection), or only checks for a pause when there is no
 * limit. `prune` also deletes the slots that have left the window. `at`: the time to read the window
 * at (a test's clock); by default the database's clock (Postgres) or this machine's (SQLite).
 */
export async function takeSlot(database: Database, orgId: string, connection: string, limit: RateLimit | undefined, prune: boolean, at?: number): Promise<SlotAttempt> {
  if (!limit) {
    // Nothing to count: only a pause asked by the provider holds the request back (one read, no lock).
    const state = await readWindow(database.db, nowOf(database, at), orgId, connection, undefined);
    return decide(state, undefined);
  }
  return inWriteTransaction(database, orgId, connection, async (db) => {
    const state = await readWindow(db, nowOf(database, at), orgId, connection, limit);
    const attempt = decide(state, limit);
    if (attempt.granted) {
      await db.insertInto('rate_limit_events').values({ org_id: orgId, connection, at: attempt.at }).execute();
      if (prune) await pruneSlots(db, orgId, connection, attempt.at - limit.perMs);
    }
    return attempt;
  });
}

function decide(state: WindowState, limit: RateLimit | undefined): SlotAttempt {
  const { now } = state;
  if (state.paused_until !== null && state.paused_until > now) return { granted: false, waitMs: state.paused_until - now };
  if (limit && state.nth !== null) return { granted: false, waitMs: Math.max(1, state.nth + limit.perMs - now) };
  return { granted: true, at: now };
}

/** The time as SQL: `at` when given, else the database's clock (Postgres) or this machine's (SQLite). */
function nowOf(database: Database, at: number | undefined) {
  if (at !== undefined) return sql<number>`CAST(${at} AS bigint)`;
  return adapterOf(database.db).nowMs();
}

async function readWindow(db: Kysely<Tables>, now: ReturnType<typeof nowOf>, orgId: string, connection: string, limit: RateLimit | undefined): Promise<WindowState> {
  const nth = limit
    ? sql<number | null>`(SELECT at FROM rate_limit_events
         WHERE org_id = ${orgId} AND connection = ${connection} AND at > c.now - ${limit.perMs}
         ORDER BY at DESC LIMIT 1 OFFSET ${limit.requests - 1})`
    : sql<null>`NULL`;
  const result = await sql<WindowState>`
    WITH c AS (SELECT ${now} AS now)
    SELECT c.now AS now, ${nth} AS nth,
      (SELECT paused_until FROM rate_limit_pauses WHERE org_id = ${orgId} AND connection = ${connection}) AS paused_until
    FROM c`.execute(db);
  const row = result.rows[0]!;
  return { now: Number(row.now), nth: row.nth === null ? null : Number(row.nth), paused_until: row.paused_until === null ? null : Number(row.paused_until) };
}

/**
 * A request that took the slot at `at` has been answered: from now on it counts from now. Its arrival at
 * the provider lies somewhere between the two, so counting from the answer can never undercount the
 * provider's own rolling window.
 */
export async function settleSlot(database: Database, orgId: string, connection: string, at: number, settledAt?: number): Promise<void> {
  const now = nowOf(database, settledAt);
  await sql`UPDATE rate_limit_events SET at = ${now} WHERE org_id = ${orgId} AND connection = ${connection} AND at = ${at}`.execute(database.db);
}

/** Deletes the slots of a connection taken at or before `before` (they no longer count). */
export async function pruneSlots(db: Kysely<Tables>, orgId: string, connection: string, before: number): Promise<void> {
  await db.deleteFrom('rate_limit_events').where('org_id', '=', orgId).where('connection', '=', connection).where('at', '<=', before).execute();
}

/** No slot of (org, connection) is handed out for `ms` from now (a later pause already set is kept). */
export async function pauseSlots(database: Database, orgId: string, connection: string, ms: number, at?: number): Promise<void> {
  await inWriteTransaction(database, orgId, connection, async (db) => {
    const now = nowOf(database, at);
    const until = sql<number>`(SELECT ${now} + ${Math.ceil(ms)})`;
    await sql`
      INSERT INTO rate_limit_pauses (org_id, connection, paused_until) VALUES (${orgId}, ${connection}, ${until})
      ON CONFLICT (org_id, connection) DO UPDATE SET paused_until =
        CASE WHEN excluded.paused_until > rate_limit_pauses.paused_until THEN excluded.paused_until ELSE rate_limit_pauses.paused_until END`.execute(db);
  });
}

/** Forgets the window and pause of a connection (it was deleted). */
export async function clearSlots(db: Kysely<Tables>, orgId: string, connection: string): Promise<void> {
  await db.deleteFrom('rate_limit_events').where('org_id', '=', orgId).where('connection', '=', connection).execute();
  await db.deleteFrom('rate_limit_pauses').where('org_id', '=', orgId).where('connection', '=', connection).execute();
}

/** Every slot still recorded for (org, connection), oldest first (tests and diagnostics). */
export async function recordedSlots(db: Kysely<Tables>, orgId: string, connection: string): Promise<number[]> {
  const rows = await db.selectFrom('rate_limit_events').select('at').where('org_id', '=', orgId).where('connection', '=', connection).orderBy('at').execute();
  return rows.map((r) => Number(r.at));
}

/**
 * Runs `fn` in a write transaction that no other attempt on the same (org, connection) overlaps:
 * Postgres takes a transaction-scoped advisory lock; SQLite starts with BEGIN IMMEDIATE (the one writer).
 */
async function inWriteTransaction<T>(database: Database, orgId: string, connection: string, fn: (db: Kysely<Tables>) => Promise<T>): Promise<T> {
  if (adapterOf(database.db).name === 'postgres') {
    return database.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${`${orgId}:${connection}`}))`.execute(trx);
      return fn(trx);
    });
  }
  return database.db.connection().execute(async (conn) => {
    await sql`BEGIN IMMEDIATE`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`COMMIT`.execute(conn);
      return result;
    } catch (err) {
      await sql`ROLLBACK`.execute(conn).catch(() => {});
      throw err;
    }
  });
}
