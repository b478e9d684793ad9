/**
 * WAL checkpoints off the event loop. By default SQLite checkpoints inside whichever COMMIT pushes the
 * WAL past 1,000 pages: that COMMIT then copies the pages into the database file and fsyncs it, and
 * every request waiting on the event loop waits with it. Here the main connection never checkpoints
 * (`wal_autocheckpoint = 0`); a worker thread with its own connection runs a PASSIVE checkpoint
 * (which never blocks the writer) every `intervalMs`. `journal_size_limit` keeps the WAL file from
 * staying large once it has been checkpointed and restarted.
 *
 * If the worker fails, the main connection goes back to checkpointing by itself, so the WAL never
 * grows without bound.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

// Plain CommonJS evaluated in the worker: no build step or loader needed under tsx or from dist/.
const SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
let frames = 0;
const timer = setInterval(() => {
  const [row] = db.pragma('wal_checkpoint(PASSIVE)');
  if (row && row.checkpointed > 0) {
    frames += row.checkpointed;
    parentPort.postMessage({ frames });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class SqliteCheckpointer {
  readonly #worker: Worker;
  #stopped = false;
  /** Resolves when the worker thread has ended (after stop(), or on its own after an error). */
  readonly #exited: Promise<void>;
  /** WAL frames the worker has copied into the database file so far. */
  frames = 0;

  constructor(sqlite: SQLite.Database, path: string, intervalMs = 250) {
    sqlite.pragma('journal_size_limit = 67108864');
    sqlite.pragma('wal_autocheckpoint = 0');
    this.#worker = new Worker(SOURCE, {
      eval: true,
      workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), path, intervalMs },
    });
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('message', (m: { frames: number }) => (this.frames = m.frames));
    this.#worker.on('error', () => {
      if (!this.#stopped && sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
    });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#worker.ref(); // keep the process alive until the worker has closed its connection
    this.#worker.postMessage('stop'); // nobody receives it if the worker ended already: #exited has resolved then
    await this.#exited;
  }
}
