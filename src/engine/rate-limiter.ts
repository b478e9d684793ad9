/**
 * The rate limit of a connection, shared by every worker of every process (DESIGN.md "Execution").
 * The window lives in the database (store/rate-limits.ts); this class adds the waiting: an attempt that
 * finds the window full sleeps until its oldest slot leaves it, then tries again. Within one process the
 * callers of one connection queue in a local lane, so one of them at a time asks the database
 * instead of all of them waking together.
 */
import type { Database } from '../store/db.js';
import { clearSlots, pauseSlots, settleSlot, takeSlot, type RateLimit } from '../store/rate-limits.js';
import { systemClock, type Clock } from './clock.js';
import { clearAnswers, recordAnswer } from '../store/rate-limit-answers.js';

export type { RateLimit } from '../store/rate-limits.js';

/** Limits used when a connection's config has no `rateLimit` (Dropbox and HTTP: none, only Retry-After pauses). */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, RateLimit | undefined>> = {
  hubspot: { requests: 100, perMs: 10_000 },
  dropbox: undefined,
  http: undefined,
};

/** Slots left in the window are deleted about this often per connection (and at least once per window). */
const PRUNE_EVERY_MS = 5_000;

export interface RateLimiterOptions {
  /**
   * The clock of the windows and of the waiting. Without one, slots are timed by the database's clock on
   * Postgres (one clock for every machine) and this machine's on SQLite; with one (tests), by it alone.
   */
  clock?: Clock;
}

export class RateLimiter {
  readonly #database: Database;
  readonly #lanes = new Map<string, Promise<void>>();
  readonly #nextPrune = new Map<string, number>();
  readonly #clock: Clock;
  /** The time the window is read at: the given clock's, or undefined to let the database read its own. */
  readonly #at: () => number | undefined;

  constructor(database: Database, options: RateLimiterOptions = {}) {
    this.#database = database;
    this.#clock = options.clock ?? systemClock;
    const clock = options.clock;
    this.#at = clock ? () => clock.now() : () => undefined;
  }

  /**
   * Waits for a slot of (org, connection) under `limit` (undefined: no limit, only pauses apply) and
   * returns its time (epoch ms, the database's clock on Postgres). Rejects with `signal.reason` when aborted.
   */
  async acquire(orgId: string, connection: string, limit: RateLimit | undefined, signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    const lane = `${orgId}\u0000${connection}`;
    const previous = this.#lanes.get(lane);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.#lanes.set(lane, mine);
    try {
      if (previous) await abortable(previous, signal);
      for (;;) {
        const attempt = await takeSlot(this.#database, orgId, connection, limit, limit !== undefined && this.#pruneDue(lane, limit), this.#at());
        if (attempt.granted) return attempt.at;
        await this.#clock.sleep(attempt.waitMs, signal);
      }
    } finally {
      // Leaving early (aborted) must not let the next caller overtake the one still ahead of us.
      if (previous) void previous.then(release);
      else release();
      void mine.then(() => {
        if (this.#lanes.get(lane) === mine) this.#lanes.delete(lane);
      });
    }
  }

  /** The request of the slot taken at `at` was answered: count it from now (see settleSlot). */
  async settle(orgId: string, connection: string, at: number): Promise<void> {
    await settleSlot(this.#database, orgId, connection, at, this.#at());
  }

  /**
   * The provider asked to slow down: no slot of (org, connection) is handed out for `ms`, in any process.
   * `answered429`: it refused a request with 429, which is kept among the connection's recent 429s.
   */
  async backOff(orgId: string, connection: string, ms: number, answered429 = true): Promise<void> {
    if (answered429) await recordAnswer(this.#database.db, orgId, connection, this.#at() ?? Date.now(), ms > 0 ? Math.round(ms) : null);
    if (!(ms > 0)) return;
    await pauseSlots(this.#database, orgId, connection, Math.min(ms, 24 * 3_600_000), this.#at());
  }

  /** Forgets the window and pause of a deleted connection. */
  async forget(orgId: string, connection: string): Promise<void> {
    await clearSlots(this.#database.db, orgId, connection);
    await clearAnswers(this.#database.db, orgId, connection);
  }

  #pruneDue(lane: string, limit: RateLimit): boolean {
    const now = this.#clock.now();
    if (now < (this.#nextPrune.get(lane) ?? 0)) return false;
    this.#nextPrune.set(lane, now + Math.min(PRUNE_EVERY_MS, limit.perMs));
    return true;
  }
}

function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
