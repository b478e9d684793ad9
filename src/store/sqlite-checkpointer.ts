/**
 * WAL checkpoints off the event loop, and a WAL that stays small under any load.
 *
 * By default SQLite checkpoints inside whichever COMMIT pushes the WAL past 1,000 pages: that COMMIT
 * then copies the pages into the database file and fsyncs it, and every request waiting on the event
 * loop waits with it. Here the main connection never checkpoints (`wal_autocheckpoint = 0`); a worker
 * thread with its own connection runs a PASSIVE checkpoint (which never blocks the writer) every
 * `intervalMs`.
 *
 * PASSIVE copies frames but never *resets* the log: SQLite starts writing the WAL from its beginning
 * again only when a write transaction begins while every frame has been copied and no reader uses
 * the log. Under sustained load the writer has always appended since the last checkpoint, so the WAL
 * only grew: 2.04 GB after 100,000 orders (issue 15, ~20 KB per order). So after every group commit
 * the size of the `-wal` file is looked at (one fstat, ~2 µs), and once it passes `walLimitBytes`:
 *   1. the worker runs two PASSIVE checkpoints while writes go on, copying nearly everything and
 *      syncing it (unless the WAL passes 1.25 × the limit meanwhile, on a machine too busy to let them
 *      finish: then at once); its periodic checkpoint waits meanwhile, so the reset never waits for it;
 *   2. the writer pauses before its next group (`SqliteWriter.exclusive`) and the worker runs a TRUNCATE
 *      checkpoint: it copies the few frames written since, fsyncs and cuts the WAL to zero bytes. It
 *      waits at most `resetBusyMs` for readers of other connections (a backup, `sqlite3`); if they keep
 *      it from resetting, the writes go on and the reset is tried again `retryMs` later.
 * Writes queued during the pause wait in memory and commit together right after it. The event loop is
 * never blocked: the copy and the fsync happen on the worker thread. Figures: docs/operating.md.
 *
 * If the worker fails, the main connection goes back to checkpointing by itself and resets the WAL
 * itself (synchronously, between groups), so the WAL never grows without bound.
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';
import type { SqliteWriter } from './sqlite-writer.js';

// Plain CommonJS evaluated in the worker: no build step or loader needed under tsx or from dist/.
const SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let frames = 0;
const checkpoint = (mode, busyMs) => {
  if (busyMs !== undefined) db.pragma('busy_timeout = ' + busyMs);
  const t0 = performance.now();
  try {
    const [row] = db.pragma('wal_checkpoint(' + mode + ')');
    if (row && row.checkpointed > 0) frames += row.checkpointed;
    return { busy: row ? row.busy : 1, log: row ? row.log : -1, ms: performance.now() - t0 };
  } finally {
    if (busyMs !== undefined) db.pragma('busy_timeout = 5000');
  }
};
// While a reset is under way its own checkpoints do the work: a periodic one in between would make
// the reset wait for it with the writes paused.
let resetting = false;
const timer = setInterval(() => {
  if (resetting) return;
  checkpoint('PASSIVE');
  parentPort.postMessage({ frames });
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m.op === 'stop') {
    clearInterval(timer);
    // The writer is idle: copy what is left and leave an empty WAL behind.
    let result;
    try { result = checkpoint('TRUNCATE', workerData.resetBusyMs); } catch (err) { result = { busy: 1, log: -1, ms: 0, error: String(err) }; }
    db.close();
    parentPort.postMessage({ id: m.id, frames, ...result });
    parentPort.close();
    return;
  }
  resetting = m.op === 'passive-for-reset';
  try {
    const result = checkpoint(m.op === 'reset' ? 'TRUNCATE' : 'PASSIVE', m.op === 'reset' ? workerData.resetBusyMs : undefined);
    parentPort.postMessage({ id: m.id, frames, ...result });
  } catch (err) {
    parentPort.postMessage({ id: m.id, frames, error: String(err) });
  }
});
`;

export interface CheckpointerOptions {
  /** PASSIVE checkpoint every this many ms (default 250). */
  intervalMs?: number;
  /** The writer whose groups are paused for a WAL reset; without it the WAL is never reset. */
  writer?: SqliteWriter;
  /** WAL size that triggers a reset, bytes (default 32 MiB); 0: never reset (the WAL grows under sustained load). */
  walLimitBytes?: number;
  /** Longest a reset waits for other connections' readers, ms (default 200): the writes wait this long at most. */
  resetBusyMs?: number;
  /** After a reset that readers prevented, the next try waits this long, ms (default 1000). */
  retryMs?: number;
}

interface Answer {
  id?: number;
  frames: number;
  busy?: number;
  log?: number;
  ms?: number;
  error?: string;
}

/** What the checkpointer did since the database was opened (status endpoint, benchmarks, tests). */
export interface CheckpointerStats {
  /** WAL resets that left an empty log. */
  resets: number;
  /** Resets that readers of other connections prevented within `resetBusyMs`. */
  resetsBlocked: number;
  /** How long the writes were paused by the last reset, and by the longest, ms. */
  lastPauseMs: number;
  maxPauseMs: number;
  totalPauseMs: number;
  /** Largest WAL file size seen after a group commit, bytes. */
  walPeakBytes: number;
}

export const DEFAULT_WAL_LIMIT_BYTES = 32 * 1024 * 1024;

export class SqliteCheckpointer {
  readonly #worker: Worker;
  readonly #sqlite: SQLite.Database;
  readonly #walPath: string;
  readonly #writer: SqliteWriter | undefined;
  readonly #limit: number;
  /** Past this the reset no longer waits for its PASSIVE checkpoint: the WAL stays under it plus one group. */
  readonly #hardLimit: number;
  #urgent: (() => void) | null = null;
  readonly #retryMs: number;
  #stopped = false;
  #failed = false;
  #resetting: Promise<void> | null = null;
  #retryAt = 0;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  /** Resolves when the worker thread has ended (after stop(), or on its own after an error). */
  readonly #exited: Promise<void>;
  /** WAL frames the worker's checkpoints reported copied so far. */
  frames = 0;
  readonly stats: CheckpointerStats = { resets: 0, resetsBlocked: 0, lastPauseMs: 0, maxPauseMs: 0, totalPauseMs: 0, walPeakBytes: 0 };
  /** Size of the WAL after the final checkpoint of stop() (0: empty), or -1 before. */
  walBytesAtStop = -1;

  constructor(sqlite: SQLite.Database, path: string, options: CheckpointerOptions = {}) {
    this.#sqlite = sqlite;
    this.#walPath = `${path}-wal`;
    this.#writer = options.writer;
    this.#limit = options.walLimitBytes ?? DEFAULT_WAL_LIMIT_BYTES;
    this.#hardLimit = Math.floor(this.#limit * 1.25);
    this.#retryMs = options.retryMs ?? 1000;
    // A WAL left larger than this by anything else (a reset that readers prevented) is cut back to it
    // by the first commit after the log restarts.
    sqlite.pragma(`journal_size_limit = ${this.#limit > 0 ? this.#limit : 64 * 1024 * 1024}`);
    sqlite.pragma('wal_autocheckpoint = 0');
    this.#worker = new Worker(SOURCE, {
      eval: true,
      workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), path, intervalMs: options.intervalMs ?? 250, resetBusyMs: options.resetBusyMs ?? 200 },
    });
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('message', (m: Answer) => {
      this.frames = m.frames;
      if (m.id === undefined) return;
      this.#pending.get(m.id)?.resolve(m);
      this.#pending.delete(m.id);
    });
    this.#worker.on('error', () => {
      this.#failed = true;
      if (!this.#stopped && sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
    });
    void this.#exited.then(() => {
      this.#failed = true;
      for (const p of this.#pending.values()) p.reject(new Error('the checkpoint worker has ended'));
      this.#pending.clear();
    });
    this.#writer?.onCommit(() => this.#afterCommit());
  }

  /** The WAL size that triggers a reset, bytes (0: never). */
  get walLimitBytes(): number {
    return this.#limit;
  }

  /** Size of the WAL file now, bytes (0 when there is none). */
  walBytes(): number {
    try {
      return statSync(this.#walPath).size;
    } catch {
      return 0;
    }
  }

  #afterCommit(): void {
    if (this.#stopped) return;
    const size = this.walBytes();
    if (size > this.stats.walPeakBytes) this.stats.walPeakBytes = size;
    if (this.#limit <= 0) return;
    if (this.#resetting) {
      if (size > this.#hardLimit) this.#urgent?.();
      return;
    }
    if (size <= this.#limit || Date.now() < this.#retryAt) return;
    this.#resetting = this.#reset(size > this.#hardLimit)
      .catch(() => {
        this.#retryAt = Date.now() + this.#retryMs;
      })
      .finally(() => (this.#resetting = null));
  }

  async #reset(urgent: boolean): Promise<void> {
    if (!urgent && !this.#failed) {
      // Copy nearly everything while the writes go on, twice: the second copies (and syncs) what was
      // written during the first, so the pause only covers a short tail.
      const hard = new Promise<void>((resolve) => (this.#urgent = resolve));
      for (let round = 0; round < 2 && this.#urgent; round++) {
        await Promise.race([this.#ask('passive-for-reset').catch(() => undefined), hard.then(() => (this.#urgent = null))]);
      }
      this.#urgent = null;
    }
    const answer = await this.#writer!.exclusive(async () => {
      const t0 = performance.now();
      // A worker that does not answer within 5 s (it never took more than ~250 ms here) must not hold
      // the writes: they go on, and the reset counts as blocked. A worker that ended: reset here.
      const a = this.#failed
        ? this.#resetHere()
        : await this.#ask('reset', 5_000).catch((err: Error): Answer => (this.#failed ? this.#resetHere() : { frames: this.frames, busy: 1, error: err.message }));
      const ms = performance.now() - t0;
      this.stats.lastPauseMs = ms;
      this.stats.totalPauseMs += ms;
      if (ms > this.stats.maxPauseMs) this.stats.maxPauseMs = ms;
      return a;
    });
    if (answer.busy === 0 && !answer.error) {
      this.stats.resets++;
    } else {
      this.stats.resetsBlocked++;
      this.#retryAt = Date.now() + this.#retryMs;
    }
  }

  /** The worker is gone: reset on the main connection (it blocks the event loop for the copy and fsync). */
  #resetHere(): Answer {
    if (this.#stopped || !this.#sqlite.open) return { frames: this.frames, busy: 1 };
    const [row] = this.#sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number }>;
    return { frames: this.frames, busy: row?.busy ?? 1, log: row?.log ?? -1 };
  }

  #ask(op: 'passive-for-reset' | 'reset' | 'stop', timeoutMs?: number): Promise<Answer> {
    if (this.#failed) return Promise.reject(new Error('the checkpoint worker has ended'));
    const id = this.#nextId++;
    return new Promise<Answer>((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the checkpoint worker did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => clearTimeout(timer);
      this.#pending.set(id, { resolve: (a) => (done(), resolve(a)), reject: (e) => (done(), reject(e)) });
      this.#worker.postMessage({ op, id });
    });
  }

  /** Ends the worker after a final TRUNCATE checkpoint (call once the writer is idle). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.#resetting;
    this.#stopped = true;
    this.#worker.ref(); // keep the process alive until the worker has closed its connection
    // Nobody answers if the worker ended already: #exited has resolved then and #ask rejects.
    await this.#ask('stop').catch(() => undefined);
    await this.#exited;
    this.walBytesAtStop = this.walBytes();
  }
}
