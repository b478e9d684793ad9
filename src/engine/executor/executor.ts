/**
 * The worker: claims due runs in batches (lease + heartbeat), executes them concurrently, and wakes
 * on new runs (in-process events, Postgres LISTEN/NOTIFY) with polling as the fallback.
 * A run whose worker died is claimed again once its lease lapses and resumes after its last
 * committed step. `stop()` stops claiming, lets in-flight runs finish for a grace period, then
 * abandons the rest and hands them back to the queue.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { ProcessDefinition } from '../../domain/process.js';
import { claimRuns, claimRunsSync, type ClaimOptions } from '../../store/run-claims.js';
import type { Run } from '../../store/runs.js';
import type { SqliteWriter } from '../../store/sqlite-writer.js';
import { getEntitiesByIds, getEntitySync, type EntityRecord } from '../../store/entities.js';
import type { Services } from '../services.js';
import { CommitQueue } from './commit-queue.js';
import { executeRun } from './run-run.js';
import { isCancelRequested, releaseLeases, renewLeasesOf } from './leases.js';

export interface ExecutorOptions {
  /** Runs executing at once in this worker. */
  maxInFlight?: number;
  /** Runs claimed per transaction. */
  batchSize?: number;
  /** How long a claim holds without a heartbeat. */
  leaseMs?: number;
  /** Polling interval when nothing wakes the worker (due delays and backoffs are found this way). */
  pollMs?: number;
  /** On stop, how long in-flight runs may take to finish before they are handed back. */
  graceMs?: number;
  /** After a wake-up, wait this long so runs queued together are claimed together. */
  gatherMs?: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: unknown) => void;
}

/** Runs claimed, and their entities as read in the claim (null: the entity is gone). */
interface Claimed {
  runs: Run[];
  entities?: Map<string, EntityRecord | null>;
}

const versionKey = (r: Run) => `${r.orgId}\u0000${r.process}\u0000${r.processVersion}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Executor {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly #o: Required<Omit<ExecutorOptions, 'log'>>;
  readonly #log: NonNullable<ExecutorOptions['log']>;
  readonly #commits: CommitQueue;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #shutdown = new AbortController();
  #stopped = true;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #woken = false;
  /** The last claim was cut short by the batch size or free slots: more runs may be due. */
  #backlog = false;
  #heartbeat: NodeJS.Timeout | null = null;
  #unsubscribe: Array<() => void | Promise<void>> = [];
  /** Process versions found missing (their runs are taken, to fail with PROCESS_VERSION_MISSING). */
  readonly #versionsMissing = new Set<string>();

  constructor(
    private readonly services: Services,
    options: ExecutorOptions = {},
  ) {
    this.#o = {
      maxInFlight: options.maxInFlight ?? 64,
      batchSize: options.batchSize ?? 32,
      leaseMs: options.leaseMs ?? 30_000,
      pollMs: options.pollMs ?? 1_000,
      graceMs: options.graceMs ?? 10_000,
      gatherMs: options.gatherMs ?? 2,
    };
    this.#log = options.log ?? (() => {});
    this.#commits = new CommitQueue(services.database);
    // Every in-flight step joins this signal to its own time limit.
    setMaxListeners(0, this.#shutdown.signal);
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#unsubscribe.push(this.services.bus.onRunsQueued(() => this.#poke()));
    if (this.services.database.listen) {
      try {
        this.#unsubscribe.push(await this.services.database.listen('statusflow_runs', () => this.#poke()));
      } catch (err) {
        this.#log('warn', 'LISTEN failed; relying on polling', { err });
      }
    }
    this.#heartbeat = setInterval(() => {
      renewLeasesOf(this.services, this.owner, [...this.#inFlight.keys()], this.#o.leaseMs).catch((err) => this.#log('error', 'lease renewal failed', { err }));
    }, Math.max(50, Math.floor(this.#o.leaseMs / 3)));
    this.#heartbeat.unref();
    this.#loop = this.#run();
  }

  /** Stops claiming; waits up to graceMs for in-flight runs, then hands the rest back to the queue. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#poke();
    await this.#loop;
    const all = Promise.allSettled([...this.#inFlight.values()]);
    const grace = new Promise((r) => setTimeout(r, this.#o.graceMs).unref());
    await Promise.race([all, grace]);
    if (this.#inFlight.size > 0) {
      this.#shutdown.abort(new Error('worker shutting down'));
      await all;
    }
    await this.#commits.idle();
    await releaseLeases(this.services, this.owner);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    for (const u of this.#unsubscribe.splice(0)) await u();
  }

  /** Runs executing now (for tests and health). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  #poke(): void {
    this.#woken = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const free = this.#o.maxInFlight - this.#inFlight.size;
      let claimed: Claimed = { runs: [] };
      if (free > 0) {
        // Let runs queued at about the same time arrive, so one claim takes them together
        // (claims cost a transaction each; a batch of 32 costs about as much as one run).
        if (this.#woken && !this.#backlog && this.#o.gatherMs > 0) await sleep(this.#o.gatherMs);
        this.#woken = false;
        const limit = Math.min(this.#o.batchSize, free);
        try {
          claimed = await this.#claim(limit);
        } catch (err) {
          this.#log('error', 'claiming runs failed', { err });
        }
        for (const run of claimed.runs) {
          this.services.bus.publish({ type: 'run.updated', orgId: run.orgId, data: { id: run.id, process: run.process, entityId: run.entityId, entityType: run.entityType, status: 'running', error: null } });
          this.#execute(run, claimed.entities?.get(run.id));
        }
        this.#backlog = claimed.runs.length === limit;
        if (this.#backlog) continue; // there may be more due now
      } else {
        this.#backlog = true; // full: claim again as soon as a run finishes
      }
      if (this.#woken && free > 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#o.pollMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  async #claim(limit: number): Promise<Claimed> {
    const { services } = this;
    const o = { owner: this.owner, now: Date.now(), leaseMs: this.#o.leaseMs, limit };
    const sqlite = services.database.sqlite;
    if (sqlite) return this.#claimSqlite(sqlite, o);
    return services.database.db.transaction().execute(async (trx) => {
      const runs = await claimRuns(trx, services.database.dialect, o, async (candidates, running) => {
        const defs = new Map<string, ProcessDefinition | undefined>();
        for (const c of candidates) defs.set(c.id, await services.processVersions.load(c.orgId, c.process, c.processVersion, trx));
        return this.#admit(candidates, running, (c) => defs.get(c.id));
      });
      // The runs' entities in one query rather than one each when the runs start.
      const found = await getEntitiesByIds(trx, runs.map((r) => ({ orgId: r.orgId, type: r.entityType, id: r.entityId })));
      return { runs, entities: new Map(runs.map((r) => [r.id, found.get(r.entityId) ?? null])) };
    });
  }

  /**
   * On SQLite the claim is one synchronous write, so it can only use definitions already cached:
   * runs of a version not yet cached are left for the next claim, which follows at once. The claimed
   * runs' entities are read in the same go (as on Postgres).
   */
  async #claimSqlite(sqlite: SqliteWriter, o: ClaimOptions): Promise<Claimed> {
    const { processVersions } = this.services;
    const uncached: Run[] = [];
    const claimed = await sqlite.write((s) => {
      const runs = claimRunsSync(s, o, (candidates, running) =>
        this.#admit(candidates, running, (c) => {
          const def = processVersions.peek(c.orgId, c.process, c.processVersion);
          if (!def && !this.#versionsMissing.has(versionKey(c))) uncached.push(c);
          return def ?? (this.#versionsMissing.has(versionKey(c)) ? undefined : 'uncached');
        }),
      );
      const entities = new Map(runs.map((r) => [r.id, getEntitySync(s, r.orgId, r.entityType, r.entityId) ?? null]));
      return { runs, entities };
    });
    if (uncached.length > 0) {
      // The claimed runs are ours now: whatever happens here, they are returned to be executed.
      try {
        for (const c of uncached) {
          if (!(await processVersions.load(c.orgId, c.process, c.processVersion))) this.#versionsMissing.add(versionKey(c));
        }
      } catch (err) {
        this.#log('warn', 'loading process definitions failed; their runs are claimed again later', { err });
      }
      this.#poke();
    }
    return claimed;
  }

  /** Which candidates to take: not our own in-flight runs, and within each process's concurrency limit. */
  #admit(candidates: Run[], running: Map<string, number>, definitionOf: (c: Run) => ProcessDefinition | undefined | 'uncached'): Set<string> {
    const chosen = new Set<string>();
    const taken = new Map<string, number>();
    for (const c of candidates) {
      // Our own run whose lease lapsed while it was still executing (a stalled heartbeat): it is
      // still ours and still running here; claiming it again would execute it twice.
      if (this.#inFlight.has(c.id)) continue;
      const def = definitionOf(c);
      if (def === 'uncached') continue;
      const key = `${c.orgId}\u0000${c.process}`;
      const busy = (running.get(key) ?? 0) + (taken.get(key) ?? 0);
      // A run of this worker whose lease lapsed is still counted as running: it is ours, take it.
      // A run whose version is gone is taken too: it fails with PROCESS_VERSION_MISSING.
      if (def && busy >= def.settings.concurrency && c.status !== 'running') continue;
      chosen.add(c.id);
      taken.set(key, (taken.get(key) ?? 0) + 1);
    }
    return chosen;
  }

  #execute(run: Run, entity: EntityRecord | null | undefined): void {
    const deps = {
      services: this.services,
      commits: this.#commits,
      owner: this.owner,
      shutdown: this.#shutdown.signal,
      isCancelRequested: (id: string) => isCancelRequested(this.services, id),
    };
    const p = executeRun(deps, run, entity)
      .catch((err) => this.#log('error', 'run execution failed; it will be resumed when its lease lapses', { runId: run.id, err }))
      .finally(() => {
        this.#inFlight.delete(run.id);
        // A freed slot only matters when runs are waiting for one.
        if (this.#backlog) this.#poke();
      });
    this.#inFlight.set(run.id, p);
  }
}
