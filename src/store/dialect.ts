/**
 * What differs between the two databases, in one small object per database (as kysely's own
 * `DialectAdapter`): row locks, booleans, the byte size of a JSON column, the clock of a statement and
 * the lock that serialises claims. Store modules ask `adapterOf(db)` — the engine never sees a dialect.
 */
import { PostgresAdapter, sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Tables } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';
type Executor = Kysely<Tables> | Transaction<Tables>;

/** A row lock a read inside a transaction takes so that the row stays as read until the commit. */
export type RowLock = 'share' | 'update';

export interface DialectAdapter {
  readonly name: Dialect;
  /**
   * The row lock to take for `wanted`: Postgres takes it; SQLite has one writer, whose transaction
   * already keeps every row still, so none.
   */
  rowLock(wanted: RowLock): RowLock | 'none';
  /** A BOOLEAN column's value: Postgres takes a boolean; SQLite (INTEGER 0/1; better-sqlite3 cannot bind booleans) a number. */
  bool(value: boolean): boolean | number;
  /** The stored size in bytes of a JSON column (Postgres jsonb measured as text; SQLite reads only the record header). */
  jsonBytes(column: string): RawBuilder<number>;
  /** Epoch ms "now" for a statement: the database's clock on Postgres (shared by every process), this process's on SQLite. */
  nowMs(): RawBuilder<number>;
  /**
   * Serialises claimers until the transaction ends (Postgres: a transaction-scoped advisory lock per
   * schema); nothing on SQLite, whose single writer runs one claim at a time.
   */
  lockClaims(trx: Transaction<Tables>): Promise<void>;
}

export const SQLITE: DialectAdapter = {
  name: 'sqlite',
  rowLock: () => 'none',
  bool: (value) => (value ? 1 : 0),
  jsonBytes: (column) => sql<number>`octet_length(${sql.ref(column)})`,
  nowMs: () => sql<number>`${Date.now()}`,
  lockClaims: async () => {},
};

/** The Postgres claim lock (a transaction-scoped advisory lock per schema), also sent with BEGIN by run-claims.ts. */
export const PG_CLAIM_LOCK = 'SELECT pg_advisory_xact_lock(72417004, hashtext(current_schema()))';

export const POSTGRES: DialectAdapter = {
  name: 'postgres',
  rowLock: (wanted) => wanted,
  bool: (value) => value,
  jsonBytes: (column) => sql<number>`octet_length(${sql.ref(column)}::text)`,
  nowMs: () => sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`,
  lockClaims: async (trx) => {
    await sql.raw(PG_CLAIM_LOCK).execute(trx);
  },
};

/**
 * The adapter of the database behind `db` (a Kysely instance or one of its transactions): read from
 * Kysely's own adapter, so no call needs to be told which database it runs on.
 */
export function adapterOf(db: Executor): DialectAdapter {
  return db.getExecutor().adapter instanceof PostgresAdapter ? POSTGRES : SQLITE;
}

/** `query` with the row lock `wanted` where the database takes one (see DialectAdapter.rowLock). */
export function locked<Q extends { forShare(): Q; forUpdate(): Q }>(db: Executor, query: Q, wanted: RowLock | 'none'): Q {
  const lock = wanted === 'none' ? 'none' : adapterOf(db).rowLock(wanted);
  return lock === 'share' ? query.forShare() : lock === 'update' ? query.forUpdate() : query;
}
