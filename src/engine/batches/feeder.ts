/**
 * The batch feeder: turns a running batch's pending items into queued runs, a window at a time, as
 * capacity frees — a 100,000-entity batch never puts more than its window of runs in the queue. The
 * window is the process's concurrency less a tenth kept for live runs (domain/batch.ts batchWindow),
 * counted as the batch's queued + running runs.
 *
 * Durable by construction: marking items queued and inserting their runs happen in one transaction
 * (store/batch-items.ts queueItems), so a crash (kill -9) keeps both or neither, and a run's dedupe key
 * (batch, entity, attempt) makes a second start impossible even so. Nothing lives only in memory: every
 * statusflow process (API or worker) runs a feeder that looks for running batches in the database, so
 * a batch goes on by itself after a restart, and a paused one stays paused. On Postgres several
 * feeders may look at one batch: a transaction-scoped advisory lock per batch lets one feed it at a time.
 *
 * The feeder also publishes `batch.updated` when a batch's progress changed (at most once per tick),
 * keeps the rate sample for the ETA, and removes batches a crash left `preparing`.
 */
import type { Failure } from '../../domain/failure.js';
import { batchWindow } from '../../domain/batch.js';
import { FINISHED } from '../../domain/run-states.js';
import { newId } from '../../domain/ids.js';
import { existingEntityIds } from '../../store/batch-selection.js';
import { batchRunKey, nextPendingItems, queueItems, skipItems } from '../../store/batch-items.js';
import {
  deletePreparingBatch,
  doneOf,
  getBatchesByIds,
  getBatchForUpdate,
  inFeedTransaction,
  listLiveBatches,
  listStalePreparing,
  moveCounters,
  rollRate,
  settleBatch,
  tryLockBatch,
  type Batch,
} from '../../store/batches.js';
import type { Services } from '../services.js';
import { progressKey, publishBatch } from './events.js';

export interface FeederOptions {
  /** Between two looks while some batch is live (also the least time between two events of a batch). */
  tickMs?: number;
  /** Between two looks while no batch is live (a batch created in another process is found this way). */
  idleMs?: number;
  /** How often the rate sample behind etaSeconds moves on. */
  rateMs?: number;
  /**
   * After runs ended here, look again this soon (ends within it are gathered into one look): a batch's
   * window is refilled as its runs end, not only on the tick.
   */
  refillMs?: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: unknown) => void;
}

/** A batch left `preparing` this long was abandoned by a process that died while creating it. */
const PREPARING_STALE_MS = 10 * 60_000;
const GONE: Failure = { code: 'ENTITY_NOT_FOUND', message: 'The entity was deleted before its run was queued.', retryable: false };

export class BatchFeeder {
  readonly #o: Required<Omit<FeederOptions, 'log'>>;
  readonly #log: NonNullable<FeederOptions['log']>;
  /** The progress last published per batch (this process). */
  readonly #published = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #stopped = true;
  #unsubscribe: (() => void) | null = null;
  #lastSweep = 0;
  /** When each batch's last event went out (progress events are kept to one per tickMs). */
  readonly #publishedAt = new Map<string, number>();
  /** A run ended while a look was on its way: look again soon after it. */
  #endedDuringTick = false;
  /** The timer set is a refill's (soon), not a tick's. */
  #soon = false;

  constructor(
    private readonly services: Services,
    options: FeederOptions = {},
  ) {
    this.#o = { tickMs: options.tickMs ?? 250, idleMs: options.idleMs ?? 1_000, rateMs: options.rateMs ?? 5_000, refillMs: options.refillMs ?? 5 };
    this.#log = options.log ?? (() => {});
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    // A batch created, resumed or retried here (or relayed from elsewhere): look at once.
    this.#unsubscribe = this.services.bus.subscribe((e) => {
      if (e.type === 'batch.updated' && e.data.status === 'running' && !this.#published.has(e.data.id)) this.poke();
      // A run ended while some batch is live here: its slot in the window is free now.
      else if (e.type === 'run.updated' && this.#published.size > 0 && FINISHED.includes(e.data.status)) this.#refill();
    });
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking;
  }

  /** Look now (a batch was created or resumed). */
  poke(): void {
    if (this.#stopped || this.#ticking) return;
    this.#schedule(0);
  }

  /** Runs ended: look again soon (several ends in that time make one look). */
  #refill(): void {
    if (this.#stopped || this.#soon) return;
    if (this.#ticking) {
      this.#endedDuringTick = true;
      return;
    }
    this.#schedule(this.#o.refillMs, true);
  }

  #schedule(ms: number, soon = false): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#soon = soon;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#soon = false;
      this.#endedDuringTick = false;
      this.#ticking = this.tick()
        .catch((err: unknown) => {
          this.#log('error', 'batch feeder tick failed', { err });
          return false;
        })
        .then((live) => {
          this.#ticking = null;
          if (this.#stopped) return;
          if (live && this.#endedDuringTick) this.#schedule(this.#o.refillMs, true);
          else this.#schedule(live ? this.#o.tickMs : this.#o.idleMs);
        });
    }, ms);
    this.#timer.unref();
  }

  /** One look at every live batch; true when some batch is still live. Exposed for tests. */
  async tick(): Promise<boolean> {
    const { db } = this.services.database;
    const live = await listLiveBatches(db);
    let queued = 0;
    for (const b of live) {
      const fed = await this.#feed(b).catch((err: unknown) => {
        this.#log('warn', 'feeding a batch failed; trying again on the next tick', { batchId: b.id, err });
        return { batch: b, queued: 0 };
      });
      queued += fed.queued;
      this.#publishIfChanged(fed.batch);
    }
    if (queued > 0) this.services.bus.runsQueued();
    // Batches that ended since the last look get their final event.
    const liveIds = new Set(live.map((b) => b.id));
    const ended = [...this.#published.keys()].filter((id) => !liveIds.has(id));
    for (const b of await getBatchesByIds(db, ended)) this.#publishIfChanged(b, true);
    for (const id of ended) {
      this.#published.delete(id);
      this.#publishedAt.delete(id);
    }
    await this.#sweep();
    return live.length > 0;
  }

  /** Publishes a batch's progress when it changed, at most once per tickMs (`final`: always, when changed). */
  #publishIfChanged(b: Batch, final = false): void {
    const key = progressKey(b);
    if (this.#published.get(b.id) === key) return;
    const now = this.services.clock.now();
    if (!final && b.status === 'running' && this.#published.has(b.id) && now - (this.#publishedAt.get(b.id) ?? 0) < this.#o.tickMs) return;
    this.#published.set(b.id, key);
    this.#publishedAt.set(b.id, now);
    publishBatch(this.services, b);
  }

  /** Queues runs for a running batch up to its window; returns the batch as it is after. */
  async #feed(b: Batch): Promise<{ batch: Batch; queued: number }> {
    const { services } = this;
    const def = await services.processVersions.load(b.orgId, b.process, b.processVersion);
    // A missing version still gets its runs (they fail with PROCESS_VERSION_MISSING), one at a time.
    const window = def ? batchWindow(def.settings.concurrency) : 1;
    const now = services.clock.now();
    return inFeedTransaction(services.database, async (trx) => {
      if (!(await tryLockBatch(trx, b.id))) return { batch: b, queued: 0 };
      const cur = await getBatchForUpdate(trx, b.orgId, b.id);
      if (!cur) return { batch: b, queued: 0 };
      let queued = 0;
      const free = window - cur.queued - cur.running;
      if (cur.status === 'running' && cur.pending > 0 && free > 0) {
        const items = await nextPendingItems(trx, b.orgId, b.id, free);
        const there = await existingEntityIds(trx, b.orgId, b.entityType, items.map((i) => i.entityId));
        const skipped = await skipItems(trx, b.orgId, b.id, items.filter((i) => !there.has(i.entityId)).map((i) => i.seq), GONE);
        const trigger = { type: 'batch' as const, batchId: b.id, actor: `${cur.createdBy.type}:${cur.createdBy.id}` };
        const runs = items
          .filter((i) => there.has(i.entityId))
          .map((i) => ({
            id: newId(now),
            orgId: b.orgId,
            process: b.process,
            processVersion: b.processVersion,
            entityType: b.entityType,
            entityId: i.entityId,
            trigger,
            dedupeKey: batchRunKey(b.orgId, b.id, i.entityId, i.attempts + 1),
            causeRunId: null,
            chain: [],
            batchId: b.id,
            availableAt: now,
            queuedAt: new Date(now).toISOString(),
            seq: i.seq,
            attempt: i.attempts + 1,
          }));
        queued = await queueItems(trx, b.orgId, b.id, runs);
        await moveCounters(trx, b.orgId, b.id, { pending: -(queued + skipped), queued, skipped });
        if (skipped > 0) await settleBatch(trx, b.orgId, b.id, new Date(now).toISOString());
      }
      if (cur.status === 'running' && (cur.rate.at === null || now - cur.rate.at >= this.#o.rateMs)) await rollRate(trx, b.orgId, b.id, now, doneOf(cur));
      return { batch: (await getBatchForUpdate(trx, b.orgId, b.id)) ?? cur, queued };
    });
  }

  /** Removes batches a crash left preparing (at most once a minute). */
  async #sweep(): Promise<void> {
    const now = this.services.clock.now();
    if (now - this.#lastSweep < 60_000) return;
    this.#lastSweep = now;
    const { db } = this.services.database;
    for (const s of await listStalePreparing(db, new Date(now - PREPARING_STALE_MS).toISOString())) await deletePreparingBatch(db, s.orgId, s.id);
  }
}
