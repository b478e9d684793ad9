/**
 * The embedded SQLite database has one connection and one writer. Its hot paths (a save's write, a
 * claim, a step's result) bypass the query builder and run as plain cached statements, synchronously,
 * and the writes made at about the same time share one transaction (group commit): a COMMIT with its
 * WAL append costs more than the statements of a save, so sixteen saves in one commit cost about what
 * two cost one by one. Each write runs inside its own SAVEPOINT, so a write that throws is rolled back
 * alone and its caller gets the error; the others commit. Callers hear back only once the COMMIT is
 * done, so an answer never promises a write that a crash could still lose.
 *
 * Kysely shares the connection: a group holds Kysely's connection lock (`db.connection()`) while it
 * runs, so no Kysely transaction can be open in between — a statement run on the raw handle would
 * otherwise land inside it.
 *
 * Between two groups the writer can be paused for maintenance (`exclusive`): the WAL checkpointer uses
 * that moment, when this connection holds no transaction and runs no statement, to reset the WAL
 * (sqlite-checkpointer.ts). Writes queued meanwhile wait in memory and commit in the next group.
 */
import type SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Tables } from './schema.js';

/** Plain statements on the SQLite connection, prepared once per SQL text. */
export interface SqlSync {
  all<T>(sql: string, params?: readonly unknown[]): T[];
  get<T>(sql: string, params?: readonly unknown[]): T | undefined;
  /** Runs a statement that returns no rows; the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): number;
}

/** A write: runs inside the group's transaction, synchronously, or async with Kysely on the same connection. */
export type SyncWrite<T> = (s: SqlSync) => T;
export type KyselyWrite<T> = (db: Kysely<Tables>) => Promise<T>;

interface Job {
  kind: 'read' | 'sync' | 'kysely' | 'exclusive';
  fn: (arg: never) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class SqliteWriter implements SqlSync {
  #reads: Job[] = [];
  #writes: Job[] = [];
  #exclusive: Job[] = [];
  #afterCommit: Array<() => void> = [];
  #scheduled = false;
  #running: Promise<void> | null = null;
  /** An `exclusive` job is running: nothing may touch the connection. */
  #inExclusive = false;
  /** Groups committed, and writes in them (for benchmarks and tests). */
  readonly stats = { groups: 0, writes: 0 };

  constructor(
    private readonly kysely: Kysely<Tables>,
    private readonly sqlite: SQLite.Database,
    private readonly prepare: (sql: string) => SQLite.Statement,
    private readonly maxGroup = 256,
  ) {}

  all<T>(sql: string, params: readonly unknown[] = []): T[] {
    return this.prepare(sql).all(...params) as T[];
  }

  get<T>(sql: string, params: readonly unknown[] = []): T | undefined {
    return this.prepare(sql).get(...params) as T | undefined;
  }

  run(sql: string, params: readonly unknown[] = []): number {
    return this.prepare(sql).run(...params).changes;
  }

  /** Reads outside any transaction (never sees another caller's uncommitted write). */
  read<T>(fn: SyncWrite<T>): Promise<T> {
    return this.#enqueue(this.#reads, 'read', fn);
  }

  /**
   * A read run at once when it can see only committed data — no transaction open on the connection (a group
   * awaiting a Kysely write, or a Kysely transaction) and no maintenance holding it (`exclusive`); otherwise
   * queued as `read`. For a hot path that should not wait for the group being committed: a grouped provider
   * call's links waited ~9 ms per call in the writer's read slot (bench/batch, 2026-12-08).
   */
  readNow<T>(fn: SyncWrite<T>): Promise<T> {
    if (this.#inExclusive || this.sqlite.inTransaction) return this.read(fn);
    try {
      return Promise.resolve(syncResult(fn(this)) as T);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** A synchronous write, committed with the writes queued at about the same time. */
  write<T>(fn: SyncWrite<T>): Promise<T> {
    return this.#enqueue(this.#writes, 'sync', fn);
  }

  /** An async write with Kysely (bound to the connection), committed with the others. */
  writeKysely<T>(fn: KyselyWrite<T>): Promise<T> {
    return this.#enqueue(this.#writes, 'kysely', fn);
  }

  /**
   * Runs `fn` between two groups, with the connection held (no Kysely query, read or write runs on it
   * meanwhile) and no transaction open. For maintenance that must not meet this connection's own
   * writer lock, such as a WAL reset; keep `fn` short: every write waits for it.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#enqueue(this.#exclusive, 'exclusive', fn);
  }

  /** Calls `listener` after every committed group (synchronously, before its callers hear back). */
  onCommit(listener: () => void): void {
    this.#afterCommit.push(listener);
  }

  /** Resolves once everything queued so far is done. */
  async idle(): Promise<void> {
    while (this.#running || this.#scheduled) await (this.#running ?? new Promise((r) => setImmediate(r)));
  }

  #enqueue<T>(queue: Job[], kind: Job['kind'], fn: (arg: never) => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push({ kind, fn, resolve: resolve as (v: unknown) => void, reject });
      this.#kick();
    });
  }

  /** Starts a drain unless one is scheduled or running (a running drain takes what is queued meanwhile). */
  #kick(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    // Whatever else is queued in this turn of the event loop joins the group.
    setImmediate(() => {
      this.#scheduled = false;
      this.#running = this.#drain().finally(() => {
        this.#running = null;
        // A job queued after the drain's last look but before this point would otherwise wait forever.
        if (this.#pending()) this.#kick();
      });
    });
  }

  #pending(): boolean {
    return this.#reads.length > 0 || this.#writes.length > 0 || this.#exclusive.length > 0;
  }

  async #drain(): Promise<void> {
    while (this.#pending()) {
      const exclusive = this.#exclusive.splice(0);
      const reads = this.#reads.splice(0);
      const writes = this.#writes.splice(0, this.maxGroup);
      try {
        await this.kysely.connection().execute(async (conn) => {
          // Exclusive work first: asked for after the last group, it comes before the next one.
          this.#inExclusive = exclusive.length > 0;
          try {
            for (const job of exclusive) {
              await Promise.resolve().then(job.fn as () => Promise<unknown>).then(job.resolve, job.reject);
            }
          } finally {
            this.#inExclusive = false;
          }
          for (const job of reads) settle(job, () => (job.fn as SyncWrite<unknown>)(this));
          if (writes.length > 0) await this.#commitGroup(writes, conn);
        });
      } catch (err) {
        // The connection could not be had (the database is closing): fail whatever was waiting.
        for (const job of [...reads, ...writes, ...exclusive]) job.reject(err);
      }
      // Let callers resume (and queue more) before the next group.
      if (this.#pending()) await new Promise((r) => setImmediate(r));
    }
  }

  async #commitGroup(writes: Job[], conn: Kysely<Tables>): Promise<void> {
    const results: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
    const single = writes.length === 1;
    this.run('BEGIN IMMEDIATE');
    try {
      for (const job of writes) {
        if (!single) this.run('SAVEPOINT w');
        try {
          const value = job.kind === 'sync' ? syncResult((job.fn as SyncWrite<unknown>)(this)) : await (job.fn as KyselyWrite<unknown>)(conn);
          if (!single) this.run('RELEASE w');
          results.push({ ok: true, value });
        } catch (err) {
          if (single) throw err;
          // An error that made SQLite roll the whole transaction back (disk full, I/O) took the savepoint
          // with it: the group fails, with that error rather than "no such savepoint".
          if (!this.sqlite.inTransaction) throw err;
          this.run('ROLLBACK TO w');
          this.run('RELEASE w');
          results.push({ ok: false, err });
        }
      }
      this.run('COMMIT');
    } catch (err) {
      // A single write that threw, or the COMMIT failed (disk full, I/O error): nothing was written.
      if (this.sqlite.inTransaction) this.run('ROLLBACK');
      for (const job of writes) job.reject(err);
      return;
    }
    this.stats.groups++;
    this.stats.writes += writes.length;
    for (const listener of this.#afterCommit) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the group has committed.
      }
    }
    writes.forEach((job, i) => {
      const r = results[i]!;
      if (r.ok) job.resolve(r.value);
      else job.reject(r.err);
    });
  }
}

/** A synchronous write that returned a promise would be committed before its async part ran. */
function syncResult(value: unknown): unknown {
  if (typeof (value as { then?: unknown } | null)?.then === 'function') throw new Error('A SqliteWriter write must be synchronous; use writeKysely for async work.');
  return value;
}

function settle(job: Job, fn: () => unknown): void {
  try {
    job.resolve(syncResult(fn()));
  } catch (err) {
    job.reject(err);
  }
}
