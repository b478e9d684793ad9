/**
 * Opens the database: embedded SQLite (better-sqlite3, WAL) or Postgres (pg pool), behind one Kysely.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Tables } from './schema.js';
import { resilientPool, type PoolLog } from './pg-pool.js';
import { SqliteCheckpointer, type CheckpointerOptions } from './sqlite-checkpointer.js';
import { SqliteWriter } from './sqlite-writer.js';

export type { Dialect } from './dialect.js';
import type { Dialect } from './dialect.js';

export interface Database {
  db: Kysely<Tables>;
  dialect: Dialect;
  /** SQLite only: plain cached statements and group commit for the hot paths (see sqlite-writer.ts). */
  sqlite?: SqliteWriter;
  /** SQLite only: the WAL checkpointer and its figures (absent for `:memory:`). */
  checkpointer?: SqliteCheckpointer;
  /** SQLite only: the database file. */
  path?: string;
  /**
   * Postgres only: NOTIFY a channel after the fact (not inside a transaction). Coalesced: while one is
   * on its way, further calls make one more follow it, so a burst of saves costs two round trips.
   */
  notify?: (channel: string) => void;
  /** Postgres only: NOTIFY a channel once per payload, in order, in one statement (not inside a transaction). */
  notifyPayloads?: (channel: string, payloads: readonly string[]) => Promise<void>;
  /** Postgres only: LISTEN on a channel (one connection for all channels, reopened if it breaks); returns the unlisten function. */
  listen?: (channel: string, onNotify: (payload: string) => void) => Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export type DatabaseOptions =
  | ({ dialect: 'sqlite'; path: string } & Pick<CheckpointerOptions, 'walLimitBytes' | 'resetBusyMs' | 'retryMs' | 'intervalMs'>)
  | {
      dialect: 'postgres';
      url: string;
      schema?: string;
      poolSize?: number;
      /** Where lost connections are reported (default: stderr). They are survived either way (pg-pool.ts). */
      log?: PoolLog;
    };

const stderrLog: PoolLog = (msg, extra) => process.stderr.write(`statusflow: ${msg} ${JSON.stringify(extra)}\n`);

// Postgres BIGINT/COUNT come back as strings by default; our counts fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

/** Opens (and for SQLite, creates) the database. Run `migrate()` before use. */
export function openDatabase(options: DatabaseOptions): Database {
  if (options.dialect === 'sqlite') {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const sqlite = new SQLite(options.path);
    // Pruning (retention.ts) gives space back with incremental vacuum, which needs this mode. It can be
    // set only before the file is first written (before WAL mode, too); an older database keeps NONE until `statusflow
    // vacuum` rebuilds it (docs/operating.md), and its freed pages are reused rather than returned.
    if (isEmpty(sqlite)) sqlite.pragma('auto_vacuum = INCREMENTAL');
    sqlite.pragma('journal_mode = WAL');
    // NORMAL keeps every commit through a process crash (FULL adds power-loss safety at ~3× the cost).
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    // The savepoint journals of a group commit (sqlite-writer.ts) in memory: past 64 KiB SQLite spills
    // them to a temporary file, which a group of saves reached and which tripled a run insert's cost.
    sqlite.pragma('temp_store = MEMORY');
    const cached = withStatementCache(sqlite);
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: cached }) });
    const writer = new SqliteWriter(db, sqlite, (sql) => cached.prepare(sql) as SQLite.Statement);
    const checkpointer =
      options.path === ':memory:' ? undefined : new SqliteCheckpointer(sqlite, options.path, { writer, walLimitBytes: options.walLimitBytes, resetBusyMs: options.resetBusyMs, retryMs: options.retryMs, intervalMs: options.intervalMs });
    const close = async () => {
      await writer.idle();
      await checkpointer?.stop();
      await db.destroy();
    };
    return { db, dialect: 'sqlite', sqlite: writer, checkpointer, path: options.path, close };
  }
  const clientConfig = {
    connectionString: options.url,
    // Names the connections in pg_stat_activity unless the URL (application_name=…) or PGAPPNAME does.
    fallback_application_name: 'statusflow',
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  };
  const log = options.log ?? stderrLog;
  const pool = new pg.Pool({ ...clientConfig, max: options.poolSize ?? 10 });
  // Lost connections are survived and typed (pg-pool.ts); Kysely gets the watched pool, NOTIFY the plain one.
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: resilientPool(pool, log) }) });
  // One connection LISTENs on every channel of this process; if it breaks it is opened again a second later.
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let listener: Promise<pg.Client> | undefined;
  const openListener = (): Promise<pg.Client> => {
    // keepAlive: a connection cut silently (a NAT or proxy idle timeout) is noticed and reopened.
    const client = new pg.Client({ ...clientConfig, keepAlive: true });
    const opened = (async () => {
      await client.connect();
      client.on('notification', (n) => {
        for (const handler of handlers.get(n.channel) ?? []) {
          try {
            handler(n.payload ?? '');
          } catch {
            // A handler's failure must not escape into pg's socket handler (an uncaught exception there ends the process).
          }
        }
      });
      for (const channel of handlers.keys()) await client.query(`LISTEN ${channel}`);
      return client;
    })();
    const broken = () => {
      if (listener !== opened) return;
      listener = undefined;
      client.end().catch(() => {});
      if (closing) return;
      // Meanwhile wake-ups come from polling, and streams miss other processes' events.
      setTimeout(() => {
        if (!closing && !listener && handlers.size > 0) (listener = openListener()).catch(() => {});
      }, 1_000).unref();
    };
    client.on('error', broken);
    client.on('end', broken);
    opened.catch(broken);
    return opened;
  };
  const listen = async (channel: string, onNotify: (payload: string) => void) => {
    let set = handlers.get(channel);
    const first = !set;
    if (!set) handlers.set(channel, (set = new Set()));
    set.add(onNotify);
    try {
      if (listener) {
        const client = await listener;
        if (first) await client.query(`LISTEN ${channel}`);
      } else {
        await (listener = openListener()); // LISTENs on every channel with handlers, this one included
      }
    } catch (err) {
      set.delete(onNotify);
      if (set.size === 0) handlers.delete(channel);
      throw err;
    }
    return async () => {
      set.delete(onNotify);
      if (set.size > 0 || handlers.get(channel) !== set) return;
      handlers.delete(channel);
      const client = await listener?.catch(() => undefined);
      await client?.query(`UNLISTEN ${channel}`).catch(() => {});
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
  const notifyPayloads = async (channel: string, payloads: readonly string[]): Promise<void> => {
    // The numbered rows keep the order; one transaction's notifications are delivered in the order sent.
    await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n', [channel, payloads]);
  };
  let closing = false;
  const close = async () => {
    closing = true;
    const client = await listener?.catch(() => undefined);
    await client?.end().catch(() => {});
    await db.destroy();
    // Kysely ends the pool only if it ran a query itself; the pool may have been used directly (NOTIFY).
    if (!pool.ending) await pool.end();
  };
  return { db, dialect: 'postgres', notify, notifyPayloads, listen, close };
}

function isEmpty(sqlite: SQLite.Database): boolean {
  return (sqlite.prepare('select count(*) as n from sqlite_schema').get() as { n: number }).n === 0;
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
