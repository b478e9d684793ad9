/**
 * Opens the database: embedded SQLite (better-sqlite3, WAL) or Postgres (pg pool), behind one Kysely.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Tables } from './schema.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { SqliteWriter } from './sqlite-writer.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Tables>;
  dialect: Dialect;
  /** SQLite only: plain cached statements and group commit for the hot paths (see sqlite-writer.ts). */
  sqlite?: SqliteWriter;
  /**
   * Postgres only: NOTIFY a channel after the fact (not inside a transaction). Coalesced: while one is
   * on its way, further calls make one more follow it, so a burst of saves costs two round trips.
   */
  notify?: (channel: string) => void;
  /** Postgres only: LISTEN on a channel with a dedicated connection; returns the unlisten function. */
  listen?: (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export type DatabaseOptions =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres'; url: string; schema?: string; poolSize?: number };

// Postgres BIGINT/COUNT come back as strings by default; our counts fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

/** Opens (and for SQLite, creates) the database. Run `migrate()` before use. */
export function openDatabase(options: DatabaseOptions): Database {
  if (options.dialect === 'sqlite') {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const sqlite = new SQLite(options.path);
    sqlite.pragma('journal_mode = WAL');
    // NORMAL keeps every commit through a process crash (FULL adds power-loss safety at ~3× the cost).
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const cached = withStatementCache(sqlite);
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: cached }) });
    const writer = new SqliteWriter(db, sqlite, (sql) => cached.prepare(sql) as SQLite.Statement);
    const checkpointer = options.path === ':memory:' ? undefined : new SqliteCheckpointer(sqlite, options.path);
    const close = async () => {
      await writer.idle();
      await checkpointer?.stop();
      await db.destroy();
    };
    return { db, dialect: 'sqlite', sqlite: writer, close };
  }
  const clientConfig = {
    connectionString: options.url,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  };
  const pool = new pg.Pool({ ...clientConfig, max: options.poolSize ?? 10 });
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  const listeners = new Set<pg.Client>();
  const listen = async (channel: string, onNotify: () => void) => {
    const client = new pg.Client(clientConfig);
    client.on('error', () => {}); // a broken LISTEN connection only costs wake-ups; polling remains
    await client.connect();
    client.on('notification', (n) => {
      if (n.channel === channel) onNotify();
    });
    await client.query(`LISTEN ${channel}`);
    listeners.add(client);
    return async () => {
      listeners.delete(client);
      await client.end().catch(() => {});
    };
  };
  const notifying = new Map<string, 'sending' | 'again'>();
  const notify = (channel: string): void => {
    const state = notifying.get(channel);
    if (state) {
      notifying.set(channel, 'again');
      return;
    }
    notifying.set(channel, 'sending');
    pool
      .query(`NOTIFY ${channel}`)
      .catch(() => {}) // a lost wake-up only costs latency; workers poll
      .finally(() => {
        const again = notifying.get(channel) === 'again';
        notifying.delete(channel);
        if (again && !closing) notify(channel);
      });
  };
  let closing = false;
  const close = async () => {
    closing = true;
    await Promise.all([...listeners].map((c) => c.end().catch(() => {})));
    await db.destroy();
  };
  return { db, dialect: 'postgres', notify, listen, close };
}

/**
 * Kysely prepares every query anew; better-sqlite3 statements can be reused, which saves ~10 µs per
 * query here. Statements are kept per SQL text (LRU). Safe: better-sqlite3 runs one statement at a time.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500): SqliteDatabase & { prepare(sql: string): SQLite.Statement } {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = sqlite.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

/** Timestamps as ISO strings whatever the driver returned. */
export function iso(value: string | Date): string {
  return typeof value === 'string' ? value : value.toISOString();
}

/** JSON columns: SQLite gives text, Postgres jsonb gives the value. */
export function fromJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
