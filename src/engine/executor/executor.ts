/**
 * The worker: claims due runs in batches (lease + heartbeat), executes them concurrently, and wakes
 * when a run may have become claimable: runs queued, a slot of a process at its concurrency cap freed
 * (here, in-process or on Postgres through LISTEN/NOTIFY from another process), or the earliest known
 * retry or delay coming due (a timer). Polling is only the fallback (lapsed leases, lost notifications).
 * A run whose worker died is claimed again once its lease lapses and resumes after its last
 * committed step. `stop()` stops claiming, lets in-flight runs finish for a grace period, then
 * abandons the rest and hands them back to the queue.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { ProcessDefinition } from '../../domain/process.js';
import { claimInWrite, claimRuns, claimRunsSync, type Admission, type Candidate, type ClaimOptions, type ClaimResult } from '../../store/run-claims.js';
import type { Run } from '../../store/runs.js';
import { getEntitySync, type EntityRecord } from '../../store/entities.js';
import type { Services } from '../services.js';
import { runUpdated } from '../bus-events.js';
import { CommitQueue, type StepCommit } from './commit-queue.js';
import type { WorkerCounters } from './counters.js';
import { executeRun } from './run-run.js';
import { Batcher } from './batcher.js';
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
  /**
   * Runs waiting in the batcher (gathering for a grouped provider call, or in one) or on their way to it (their
   * batchable step's input being evaluated) not counted against maxInFlight, up to this many (default 300: a full
   * HubSpot call in flight, the next gathering, the one after on its way; docs/provider-batching.md "Defaults").
   * A lane may have up to 4 calls in flight (batcher.ts CALLS_IN_FLIGHT); 400 here, room for 4 full ones, measured
   * no faster than 300 in bench/batch `slow`, where a batch's window (360) already fills 3–4.
   */
  batchHold?: number;
  /** Provider batching on (default); off sends every step alone (bench/batch's per-record baseline). */
  batching?: boolean;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: unknown) => void;
}

/** A claim's result, and the claimed runs' entities as read in the claim (null: the entity is gone). */
interface Claimed extends ClaimResult {
  entities?: Map<string, EntityRecord | null>;
  /** "org\u0000process" keys at their concurrency cap after this claim. */
  full: Set<string>;
}

const NOTHING: Claimed = { runs: [], capped: 0, nextDueAt: null, foundPast: null, full: new Set() };
const processKey = (r: Candidate) => `${r.orgId}\u0000${r.process}`;
const earliest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

const versionKey = (r: Candidate) => `${r.orgId}\u0000${r.process}\u0000${r.processVersion}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Executor {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  readonly #o: Required<Omit<ExecutorOptions, 'log'>>;
  readonly #log: NonNullable<ExecutorOptions['log']>;
  readonly #commits: CommitQueue;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #shutdown = new AbortController();
  /** Groups steps of batchable task kinds into provider batch calls; its counters are for tests and benchmarks. */
  readonly batcher: Batcher;
  #stopped = true;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  /** Re-arms the wait's timer after the next due time moved earlier. */
  #rearm: (() => void) | null = null;
  /** Something may be claimable: claim when a slot is free. */
  #woken = true;
  /** The last claim was cut short by the batch size or free slots: more runs may be due. */
  #backlog = false;
  /** A run of a capped process ended here: claim without the gathering pause (its slot is what waits). */
  #slotFreedHere = false;
  /**
   * Whether the next claim may look past a window of capped runs (run-claims.ts). Off after a look
   * found nothing, until something else than a capped process's freed slot wakes the worker: the look
   * scans past the whole capped backlog, and only new runs (or a time passing) can change its answer.
   */
  #lookPast = true;
  /** Earliest known time a waiting run (retry, delay) becomes due; null: none known. */
  #nextDueAt: number | null = null;
  /** Due times of runs this worker parked while a claim was on its way (its snapshot may miss them). */
  #parkedDuringClaim: number | null = null;
  #claiming = false;
  /** When a claim last looked for runs whose lease lapsed (they are looked for at most once per pollMs). */
  #lapsedLookAt = 0;
  /** Processes at their cap in the last claim: a slot of theirs freeing is signalled. */
  #fullProcesses = new Set<string>();
  /** Runs claimed when their process reached its cap: their end frees a slot others may wait for. */
  readonly #signalOnEnd = new Set<string>();
  /** Claims and wake-ups (for GET /api/v1/workers, bench/e2e and tests). */
  readonly counters: WorkerCounters;
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
      batchSize: options.batchSize ?? 64,
      leaseMs: options.leaseMs ?? 30_000,
      pollMs: options.pollMs ?? 1_000,
      graceMs: options.graceMs ?? 10_000,
      gatherMs: options.gatherMs ?? 2,
      batchHold: options.batchHold ?? 300,
      batching: options.batching ?? true,
    };
    // A step entering the batcher frees its slot (up to batchHold): claim more if runs were left behind.
    this.batcher = new Batcher(() => {
      if (this.#backlog) this.#poke();
    });
    this.#log = options.log ?? (() => {});
    this.counters = services.workerCounters.add();
    this.#commits = new CommitQueue(services.database, undefined, (c) => this.#committed(c));
    // Every in-flight step joins this signal to its own time limit.
    setMaxListeners(0, this.#shutdown.signal);
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    const anything = () => {
      this.#lookPast = true;
      this.#poke();
    };
    this.#unsubscribe.push(this.services.bus.onRunsQueued(anything));
    this.#unsubscribe.push(this.services.bus.onSlotFreed(() => this.#poke()));
    if (this.services.database.listen) {
      try {
        // Another process's notification may be new runs of any process.
        this.#unsubscribe.push(await this.services.database.listen('statusflow_runs', anything));
        // A slot of a capped process freed in another process (or this one: NOTIFY comes back to its sender).
        this.#unsubscribe.push(await this.services.database.listen('statusflow_slots', () => this.#poke()));
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
      const free = this.#o.maxInFlight - this.#inFlight.size + Math.min(this.batcher.holding + this.batcher.arriving, this.#o.batchHold);
      if (free <= 0) {
        this.#backlog = true; // full: claim again as soon as a run finishes
      } else if (this.#woken) {
        // Let runs queued at about the same time arrive, so one claim takes them together
        // (claims cost a transaction each; a batch of 32 costs about as much as one run).
        if (!this.#backlog && !this.#slotFreedHere && this.#o.gatherMs > 0) await sleep(this.#o.gatherMs);
        this.#woken = false;
        this.#slotFreedHere = false;
        const limit = Math.min(this.#o.batchSize, free);
        const claimed = await this.#claimCounted(limit);
        for (const run of claimed.runs) {
          this.services.bus.publish(runUpdated(run, 'running'));
          this.#execute(run, claimed.entities?.get(run.id));
        }
        this.#backlog = claimed.runs.length === limit;
        // The limit was reached: more may be due now. Otherwise nothing claimable is left until a
        // signal (runs queued, a capped process's slot freed) or the next due time: no claim spins.
        if (this.#backlog || this.#woken) {
          this.#woken = true;
          continue;
        }
      }
      await this.#waitForWork(free > 0);
    }
  }

  /** Claims, counting what it took; a failed claim is logged and takes nothing. */
  async #claimCounted(limit: number): Promise<Claimed> {
    const c = this.counters;
    c.claims++;
    this.#claiming = true;
    this.#parkedDuringClaim = null;
    let claimed = NOTHING;
    let failed = false;
    try {
      claimed = await this.#claim(limit);
    } catch (err) {
      failed = true;
      this.#log('error', 'claiming runs failed', { err });
    } finally {
      this.#claiming = false;
    }
    if (claimed.runs.length === 0) c.emptyClaims++;
    c.runsClaimed += claimed.runs.length;
    c.cappedSkips += claimed.capped;
    // After a failed claim the next try waits for the poll (a due time already past would retry at once, in a loop).
    this.#nextDueAt = failed ? null : earliest(claimed.nextDueAt, this.#parkedDuringClaim);
    if (claimed.foundPast === 0) this.#lookPast = false;
    this.#fullProcesses = claimed.full;
    for (const r of claimed.runs) if (claimed.full.has(processKey(r))) this.#signalOnEnd.add(r.id);
    return claimed;
  }

  /**
   * Waits for a poke, the next due time or the poll interval, whichever comes first. A poke that came
   * meanwhile ends the wait at once, unless every slot is taken (then a run's end pokes again).
   */
  async #waitForWork(slotFree: boolean): Promise<void> {
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      // Ends this wait once: later pokes or commits must not touch its timer or count again.
      const end = (cause: keyof WorkerCounters['wakes']) => {
        clearTimeout(timer);
        this.#wake = null;
        this.#rearm = null;
        this.counters.wakes[cause]++;
        resolve();
      };
      const arm = () => {
        clearTimeout(timer);
        const dueIn = this.#nextDueAt === null ? Infinity : Math.max(0, this.#nextDueAt - this.services.clock.now() + 1);
        const due = dueIn < this.#o.pollMs;
        timer = setTimeout(() => {
          if (due) this.#nextDueAt = null; // the claim finds the next one
          this.#woken = true;
          this.#lookPast = true;
          end(due ? 'due' : 'poll');
        }, due ? dueIn : this.#o.pollMs);
      };
      this.#rearm = arm;
      this.#wake = () => end('signal');
      if (this.#woken && slotFree) end('signal');
      else arm();
    });
  }

  /** A step result was committed: a run parked until later is a due time to wake for. */
  #committed(c: StepCommit): void {
    if (c.run.status !== 'waiting' || c.run.availableAt === undefined) return;
    const at = c.run.availableAt;
    if (this.#claiming) this.#parkedDuringClaim = earliest(this.#parkedDuringClaim, at);
    if (this.#nextDueAt === null || at < this.#nextDueAt) {
      this.#nextDueAt = at;
      this.#rearm?.();
    }
  }

  /**
   * One claim. On SQLite it is one synchronous write, so it can only use definitions already cached:
   * runs of a version not yet cached are left for the next claim, which follows at once. The claimed
   * runs' entities are read in the same go, in one query rather than one each when the runs start.
   */
  async #claim(limit: number): Promise<Claimed> {
    const { services } = this;
    const { processVersions } = services;
    const o: ClaimOptions = { owner: this.owner, now: services.clock.now(), leaseMs: this.#o.leaseMs, limit, lookPast: this.#lookPast };
    // Lapsed leases are found once per pollMs, not in every claim of a busy worker: a lease lapses after
    // leaseMs (30 s) anyway, and an idle worker's claims come from the poll.
    o.lapsed = o.now - this.#lapsedLookAt >= this.#o.pollMs;
    if (o.lapsed) this.#lapsedLookAt = o.now;
    const taken = new Map<string, number>();
    const full = new Set<string>();
    const uncached: Candidate[] = [];
    const claimed = await claimInWrite(services.database, {
      sync: (s) => {
        const result = claimRunsSync(s, o, (candidates, running) =>
          this.#admit(candidates, running, taken, full, (c) => {
            const def = processVersions.peek(c.orgId, c.process, c.processVersion);
            if (!def && !this.#versionsMissing.has(versionKey(c))) uncached.push(c);
            return def ?? (this.#versionsMissing.has(versionKey(c)) ? undefined : 'uncached');
          }),
        );
        return { ...result, full, entities: new Map(result.runs.map((r) => [r.id, getEntitySync(s, r.orgId, r.entityType, r.entityId) ?? null])) };
      },
      async: async (trx) => {
        const result = await claimRuns(trx, o, async (candidates, running) => {
          const defs = new Map<string, ProcessDefinition | undefined>();
          for (const c of candidates) defs.set(c.id, await processVersions.load(c.orgId, c.process, c.processVersion, trx));
          return this.#admit(candidates, running, taken, full, (c) => defs.get(c.id));
        });
        // The claim's UPDATE brought the entities back with the runs (a run missing here reads its own).
        return { ...result, full, entities: result.entities ?? new Map() };
      },
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

  /**
   * Which candidates to take: not our own in-flight runs, and within each process's concurrency limit.
   * `taken` (runs taken per process in earlier rounds of this claim) and `full` (processes found at
   * their cap) carry over from round to round.
   */
  #admit(
    candidates: Candidate[],
    running: Map<string, number>,
    taken: Map<string, number>,
    full: Set<string>,
    definitionOf: (c: Candidate) => ProcessDefinition | undefined | 'uncached',
  ): Admission {
    const take = new Set<string>();
    for (const c of candidates) {
      // Our own run whose lease lapsed while it was still executing (a stalled heartbeat): it is
      // still ours and still running here; claiming it again would execute it twice.
      if (this.#inFlight.has(c.id)) continue;
      const def = definitionOf(c);
      if (def === 'uncached') continue;
      const key = processKey(c);
      const busy = (running.get(key) ?? 0) + (taken.get(key) ?? 0);
      // A run of this worker whose lease lapsed is still counted as running: it is ours, take it.
      // A run whose version is gone is taken too: it fails with PROCESS_VERSION_MISSING.
      if (def && busy >= def.settings.concurrency && c.status !== 'running') {
        full.add(key);
        continue;
      }
      take.add(c.id);
      taken.set(key, (taken.get(key) ?? 0) + 1);
      if (def && busy + 1 >= def.settings.concurrency) full.add(key);
    }
    return { take, full };
  }

  #execute(run: Run, entity: EntityRecord | null | undefined): void {
    const deps = {
      services: this.services,
      commits: this.#commits,
      owner: this.owner,
      shutdown: this.#shutdown.signal,
      isCancelRequested: (id: string) => isCancelRequested(this.services, run.orgId, id),
      ...(this.#o.batching ? { batcher: this.batcher } : {}),
    };
    const p = executeRun(deps, run, entity)
      .catch((err) => this.#log('error', 'run execution failed; it will be resumed when its lease lapses', { runId: run.id, err }))
      .finally(() => {
        this.#inFlight.delete(run.id);
        if (this.#signalOnEnd.delete(run.id) || this.#fullProcesses.has(processKey(run))) {
          // A slot of a process at its cap is free: runs waiting only for it are claimed at once, by
          // this worker or another (the bus wakes this process's workers and, on Postgres, NOTIFYs the
          // others; coalesced, so a burst of ends costs a couple of notifications).
          this.counters.slotSignals++;
          this.#slotFreedHere = true;
          this.services.bus.slotFreed();
        } else if (this.#backlog) {
          // A slot of this worker is free and the last claim left runs behind.
          this.#poke();
        }
      });
    this.#inFlight.set(run.id, p);
  }
}
