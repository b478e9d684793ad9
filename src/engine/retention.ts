/**
 * The pruner: in the background, deletes finished runs (with their steps) past their retention and,
 * if configured, old events; then, on SQLite, gives the freed space back to the file system. It works
 * in chunks of `chunk` rows, one short transaction each, and yields between them, so saves and claims
 * go on meanwhile (the SQL is in store/retention.ts). What the last pass did is kept for the status
 * endpoint (GET /api/v1/admin/storage) and logged.
 *
 * Kept whatever their age: runs not finished (queued, running, waiting), runs a user pinned, and —
 * once batches exist — runs of unfinished batches (see KEEP_UNFINISHED_BATCHES in store/retention.ts).
 */
import { idFloor } from '../domain/ids.js';
import type { Database } from '../store/db.js';
import { countBoundary, incrementalVacuum, listProcessKeys, pruneEvents, pruneRunsBeyond, pruneRunsByAge, sqlitePages, type PruneChunk, vacuumsIncrementally } from '../store/retention.js';

export interface RetentionSettings {
  /** Finished runs older than this many days are deleted; 0 keeps them. */
  runsDays: number;
  /** Per process, finished runs beyond the newest N are deleted; 0: no count limit. */
  runsPerProcess: number;
  /** Events older than this many days are deleted; 0 keeps them (the entities' history). */
  eventsDays: number;
  /** Time between passes, ms. */
  intervalMs: number;
  /** Rows per chunk (one transaction). */
  chunk: number;
}

/** What one pass did. */
export interface PruneResult {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  runs: number;
  steps: number;
  events: number;
  /** Transactions it took (each at most `chunk` rows). */
  chunks: number;
  /** SQLite: bytes given back to the file system by incremental vacuum. */
  bytesFreed: number;
  /** Set when the pass stopped on an error (it is tried again at the next interval). */
  error?: string;
}

export type PruneLog = (level: 'info' | 'warn' | 'error', msg: string, extra?: unknown) => void;

export interface PrunerOptions {
  log?: PruneLog;
  /** Pause between two chunks, ms (default 1): other writes commit in between. */
  pauseMs?: number;
  /** Pages one incremental-vacuum step returns (default 1,024: 4 MiB). */
  vacuumPages?: number;
  /** First pass after this long, ms (default: the interval, at most 60 s). */
  firstDelayMs?: number;
  now?: () => number;
}

const DAY_MS = 86_400_000;

export class Pruner {
  /** The last finished pass, or null before the first. */
  last: PruneResult | null = null;
  /** Where passes are reported (settable once the server's logger exists). */
  log: PruneLog;
  #timer: NodeJS.Timeout | undefined;
  #current: Promise<PruneResult> | null = null;
  #warnedVacuum = false;
  #stopping = false;
  readonly #o: Required<Omit<PrunerOptions, 'log'>>;

  constructor(
    private readonly database: Database,
    readonly settings: RetentionSettings,
    options: PrunerOptions = {},
  ) {
    this.log = options.log ?? (() => {});
    this.#o = {
      pauseMs: options.pauseMs ?? 1,
      vacuumPages: options.vacuumPages ?? 1024,
      firstDelayMs: options.firstDelayMs ?? Math.min(settings.intervalMs, 60_000),
      now: options.now ?? Date.now,
    };
  }

  /** True when the settings delete anything at all. */
  get enabled(): boolean {
    return this.settings.runsDays > 0 || this.settings.runsPerProcess > 0 || this.settings.eventsDays > 0;
  }

  /** Starts passes every `intervalMs` (none when nothing is to be pruned). */
  start(): void {
    if (!this.enabled || this.#timer || this.#stopping) return;
    const schedule = (ms: number) => {
      this.#timer = setTimeout(() => {
        void this.pruneNow().finally(() => {
          if (!this.#stopping) schedule(this.settings.intervalMs);
        });
      }, ms);
      this.#timer.unref();
    };
    schedule(this.#o.firstDelayMs);
  }

  /** Stops the passes; a pass under way ends after its current chunk. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    await this.#current?.catch(() => undefined);
  }

  /** One pass now (or the one under way). */
  pruneNow(): Promise<PruneResult> {
    this.#current ??= this.#pass().finally(() => (this.#current = null));
    return this.#current;
  }

  async #pass(): Promise<PruneResult> {
    const t0 = this.#o.now();
    const r: PruneResult = { startedAt: new Date(t0).toISOString(), finishedAt: '', durationMs: 0, runs: 0, steps: 0, events: 0, chunks: 0, bytesFreed: 0 };
    const add = (c: PruneChunk) => {
      r.runs += c.runs;
      r.steps += c.steps;
      r.chunks++;
    };
    const { chunk } = this.settings;
    try {
      if (this.settings.runsDays > 0) {
        const cutoff = t0 - this.settings.runsDays * DAY_MS;
        const o = { beforeId: idFloor(cutoff), finishedBefore: new Date(cutoff).toISOString(), afterId: null as string | null, limit: chunk };
        for (let c = await pruneRunsByAge(this.database, o); ; c = await pruneRunsByAge(this.database, o)) {
          add(c);
          if (c.runs < chunk || this.#stopping) break;
          o.afterId = c.lastId;
          await this.#pause();
        }
      }
      if (this.settings.runsPerProcess > 0) {
        for (const { orgId, process } of await listProcessKeys(this.database)) {
          if (this.#stopping) break;
          const boundary = await countBoundary(this.database, orgId, process, this.settings.runsPerProcess);
          if (!boundary) continue;
          for (;;) {
            const c = await pruneRunsBeyond(this.database, orgId, process, boundary, chunk);
            add(c);
            if (c.runs < chunk || this.#stopping) break;
            await this.#pause();
          }
        }
      }
      if (this.settings.eventsDays > 0) {
        const beforeId = idFloor(t0 - this.settings.eventsDays * DAY_MS);
        for (;;) {
          const n = await pruneEvents(this.database, beforeId, chunk);
          r.events += n;
          r.chunks++;
          if (n < chunk || this.#stopping) break;
          await this.#pause();
        }
      }
      if (vacuumsIncrementally(this.database)) r.bytesFreed = await this.#vacuum();
    } catch (err) {
      r.error = err instanceof Error ? err.message : String(err);
    }
    r.finishedAt = new Date(this.#o.now()).toISOString();
    r.durationMs = this.#o.now() - t0;
    this.last = r;
    if (r.error) this.log('warn', 'pruning stopped on an error; it is tried again at the next interval', r);
    else if (r.runs + r.events + r.bytesFreed > 0) this.log('info', `pruned ${r.runs} runs, ${r.steps} steps, ${r.events} events in ${r.durationMs} ms${r.bytesFreed ? `; ${(r.bytesFreed / 1048576).toFixed(1)} MB given back` : ''}`, r);
    return r;
  }

  /** SQLite in incremental auto_vacuum: returns the freelist to the file system, a few MB per write. */
  async #vacuum(): Promise<number> {
    const pages = await sqlitePages(this.database);
    if (pages.autoVacuum !== 2 && !this.#warnedVacuum) {
      this.#warnedVacuum = true;
      this.log('warn', 'this SQLite database was created without incremental auto_vacuum: pruned space is reused for new rows but not given back to the file system; run `statusflow vacuum` once with the server stopped (docs/operating.md)');
    }
    if (pages.autoVacuum !== 2 || pages.freePages === 0) return 0;
    let freed = 0;
    while (!this.#stopping) {
      const n = await incrementalVacuum(this.database, this.#o.vacuumPages);
      freed += n;
      if (n < this.#o.vacuumPages) break;
      await this.#pause();
    }
    return freed * pages.pageSize;
  }

  #pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.#o.pauseMs));
  }
}
