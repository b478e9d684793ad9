/**
 * The Postgres pool, made to survive lost connections. Postgres restarts, failovers, idle-connection
 * reapers (PgBouncer, cloud proxies) and `pg_terminate_backend` end connections under a running server;
 * node-postgres then emits `'error'` on the client and, for an idle client, on the pool — an event
 * nobody listened to, which ended the process (issue 10, item 1). Here:
 *
 * - the pool and every client it opens have an `'error'` listener, so a lost connection is logged and
 *   the pool drops it (a client released after its connection broke is not reused) and opens new ones;
 * - an error that means "the connection is gone" becomes a `DatabaseUnavailableError`, which the API
 *   answers with 503 DATABASE_UNAVAILABLE (retryable) and the executor retries or leaves to the lease;
 * - a read, or a statement that was never sent, is made again on a fresh connection;
 * - a COMMIT whose connection broke is asked about on another connection (`txid_status`): it may
 *   have committed after all (then it succeeded), or certainly not;
 * - the statements a piece of work sends are watched (`trackWrites`): until a COMMIT succeeded (or
 *   may have) or a statement outside a transaction other than a SELECT was sent, nothing can have been
 *   written, so the work may safely be done again on a fresh connection (the API does so for its requests).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

/** The database connection was lost or could not be opened; the work may be tried again. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  readonly code = 'DATABASE_UNAVAILABLE';

  constructor(cause: unknown) {
    super(`the database connection was lost or could not be opened: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * SQLSTATEs that end the connection (admin_shutdown, crash_shutdown, cannot_connect_now,
 * idle_session_timeout, too_many_connections, idle_in_transaction_session_timeout) and class 08
 * (connection exception).
 */
const LOST_STATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300', '25P03']);
/** Socket errors of Node's net/dns. */
const LOST_ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND']);
/** node-postgres's own messages for a connection that broke or never opened (they carry no code). */
const LOST_MESSAGES = /^(Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect|Connection terminated due to connection timeout|Query read timeout)/;

/** Whether `err` means the connection to Postgres is gone (rather than a fault of the statement). */
export function isConnectionLoss(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (LOST_STATES.has(code) || code.startsWith('08') || LOST_ERRNOS.has(code))) return true;
  return typeof message === 'string' && LOST_MESSAGES.test(message);
}

/** What a piece of work has sent so far. */
export interface WorkRecord {
  /** A COMMIT succeeded or may have, or a statement outside a transaction that is not a SELECT was sent (whatever came back). */
  mayHaveWritten: boolean;
}

const work = new AsyncLocalStorage<WorkRecord>();

/** Runs `fn` and records in `record` whether it may have written to the database. */
export function trackWrites<T>(record: WorkRecord, fn: () => T): T {
  return work.run(record, fn);
}

export type PoolLog = (msg: string, extra: Record<string, unknown>) => void;

/** Makes `pool` safe against lost connections (see the header) and returns what Kysely should use. */
export function resilientPool(pool: pg.Pool, log: PoolLog): PostgresPool {
  // An idle client whose connection breaks: the pool has already removed it; only say so.
  pool.on('error', (err) => log('an idle Postgres connection was lost; the pool opens a new one when needed', { err: err.message, code: (err as { code?: string }).code }));
  // A client in use whose connection breaks: its query (if any) fails, it is dropped when released.
  pool.on('connect', (client) => {
    client.on('error', (err) => log('a Postgres connection in use was lost; it is replaced', { err: err.message, code: (err as { code?: string }).code }));
  });
  return {
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw isConnectionLoss(err) ? new DatabaseUnavailableError(err) : err;
      }
      return watched(client, pool);
    },
    end: () => pool.end(),
  };
}

/** node-postgres refused the statement before sending it: the connection had already broken (or none could be opened). */
const NEVER_SENT = /is not queryable/;
/** Fresh connections a statement that is safe to repeat is tried on after its own was lost. */
const STATEMENT_RETRIES = 2;
/** How long to wait for a terminated connection's transaction to be over before asking whether it committed. */
const OUTCOME_WAIT_MS = [20, 50, 100, 200, 400];

type Verb = 'begin' | 'commit' | 'rollback' | 'select' | 'other';
function verbOf(sql: string): Verb {
  const word = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? '';
  if (word === 'begin' || word === 'start') return 'begin';
  if (word === 'commit' || word === 'end') return 'commit';
  if (word === 'rollback' || word === 'abort') return 'rollback';
  return word === 'select' ? 'select' : 'other';
}

/**
 * A pooled client whose statements are watched (transaction state, writes) and whose connection
 * losses are typed. A statement outside a transaction that is safe to repeat — a SELECT, or any
 * statement that was never sent — is made again on a fresh connection of the pool.
 *
 * A COMMIT whose connection broke may or may not have committed. For the transactions of tracked
 * work (API requests), BEGIN also asks for the transaction id (`txid_current()`, in the same round
 * trip; such a transaction writes and gets one anyway), so that the outcome can then be asked on
 * another connection (`txid_status`): committed — the COMMIT succeeded after all; aborted — nothing
 * was written, and the work may be done again; unknown — the caller must be told it may have written.
 */
function watched(first: pg.PoolClient, pool: pg.Pool): PostgresPoolClient {
  let client: pg.PoolClient | undefined = first;
  let inTransaction = false;
  let broken = false;
  /** The id of the open transaction, when asked for at BEGIN. */
  let xid: string | undefined;
  /** Gives the current client back: closed when its connection broke. */
  const letGo = () => {
    client?.release(broken ? true : undefined);
    client = undefined;
  };
  const send = async (sql: string, parameters: readonly unknown[], verb: Verb, record: WorkRecord | undefined): Promise<PostgresQueryResult<unknown>> => {
    if (verb === 'begin' && record && parameters.length === 0) {
      const results = (await client!.query(`${sql}; SELECT txid_current()::text AS xid`)) as unknown as Array<PostgresQueryResult<{ xid: string }>>;
      xid = results[1]?.rows[0]?.xid;
      return results[0] as PostgresQueryResult<unknown>;
    }
    return (await client!.query(sql, parameters as unknown[])) as PostgresQueryResult<unknown>;
  };
  const watchedClient = {
    async query(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<unknown>> {
      const verb = verbOf(sql);
      const record = work.getStore();
      const alone = !inTransaction && verb !== 'begin';
      const transactionId = xid;
      if (verb === 'begin') inTransaction = true;
      else if (verb === 'commit' || verb === 'rollback') {
        inTransaction = false;
        xid = undefined;
      }
      // The transaction is over on the server once its connection is gone: nothing to roll back.
      if (verb === 'rollback' && (broken || !client)) return { command: 'ROLLBACK', rows: [] } as unknown as PostgresQueryResult<unknown>;
      if (record && alone && verb === 'other') record.mayHaveWritten = true;
      let lost: unknown;
      for (let attempt = 0; ; attempt++) {
        try {
          if (!client) {
            // The broken connection was given back first: with every connection of the pool held by a
            // statement waiting here, asking for another one before would wait forever.
            client = await pool.connect();
            broken = false;
          }
          const result = await send(sql, parameters, verb, record);
          if (record && verb === 'commit') record.mayHaveWritten = true;
          return result;
        } catch (err) {
          if (!isConnectionLoss(err)) throw err;
          lost = err;
          // No client: opening a new connection failed, so the statement was not sent either.
          const sentNothing = !client || NEVER_SENT.test((err as Error).message);
          if (client) broken = true;
          if (verb === 'commit') {
            letGo();
            const outcome = sentNothing ? 'aborted' : await outcomeOf(pool, transactionId);
            if (outcome === 'committed') {
              if (record) record.mayHaveWritten = true;
              return { command: 'COMMIT', rows: [] } as unknown as PostgresQueryResult<unknown>;
            }
            if (outcome === 'unknown' && record) record.mayHaveWritten = true;
            throw new DatabaseUnavailableError(lost);
          }
          const repeatable = alone && (verb === 'select' || sentNothing);
          if (!repeatable || attempt >= STATEMENT_RETRIES) throw new DatabaseUnavailableError(lost);
          letGo();
        }
      }
    },
    release(destroy?: boolean) {
      if (destroy) broken = true;
      letGo();
    },
  };
  // Kysely's type also has a cursor overload of query(), which we do not configure (no streaming).
  return watchedClient as PostgresPoolClient;
}

/** Whether the transaction `xid` committed, asked on another connection; 'unknown' without an id or an answer. */
export async function outcomeOf(pool: Pick<pg.Pool, 'query'>, xid: string | undefined): Promise<'committed' | 'aborted' | 'unknown'> {
  if (xid === undefined) return 'unknown';
  for (const wait of OUTCOME_WAIT_MS) {
    try {
      const { rows } = await pool.query<{ status: string | null }>('SELECT txid_status($1::bigint) AS status', [xid]);
      const status = rows[0]?.status;
      if (status === 'committed' || status === 'aborted') return status;
      if (status !== 'in progress') return 'unknown'; // too old to tell (never so soon after)
    } catch (err) {
      if (!isConnectionLoss(err)) return 'unknown';
    }
    // In progress: the terminated backend has not finished yet; it will abort or has committed.
    await new Promise((r) => setTimeout(r, wait));
  }
  return 'unknown';
}
