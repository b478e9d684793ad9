/**
 * A clock that moves only when the test says so (src/engine/clock.ts): code under test sleeps on it,
 * the test sees who sleeps until when, and advances time to wake them. Assertions are then on the
 * times handed out and on counters, not on how long a loaded machine took.
 */
import type { Clock } from '../../src/engine/clock.js';

interface Sleeper {
  until: number;
  resolve(): void;
}

export class ManualClock implements Clock {
  #now: number;
  readonly #sleepers = new Set<Sleeper>();
  readonly #onSleep = new Set<() => void>();
  /** Every sleep asked for, in ms, in order. */
  readonly sleeps: number[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper: Sleeper = {
        until: this.#now + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers.delete(sleeper);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.add(sleeper);
      for (const wake of [...this.#onSleep]) wake();
    });
  }

  /** How many are asleep now. */
  get sleeping(): number {
    return this.#sleepers.size;
  }

  /** Resolves with the earliest wake-up time once someone sleeps (at once if someone does). */
  nextWake(): Promise<number> {
    const earliest = () => Math.min(...[...this.#sleepers].map((s) => s.until));
    if (this.#sleepers.size > 0) return Promise.resolve(earliest());
    return new Promise((resolve) => {
      const wake = () => {
        this.#onSleep.delete(wake);
        resolve(earliest());
      };
      this.#onSleep.add(wake);
    });
  }

  /** Moves time forward to `at` (never back) and wakes the sleepers due by then. */
  advanceTo(at: number): void {
    this.#now = Math.max(this.#now, at);
    for (const s of [...this.#sleepers]) {
      if (s.until > this.#now) continue;
      this.#sleepers.delete(s);
      s.resolve();
    }
  }

  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Runs `work` to its end, moving time to each wake-up as soon as everyone still working is asleep. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    const done = work.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      const at = await Promise.race([this.nextWake(), done.then(() => undefined)]);
      if (at !== undefined && !settled) {
        // Let whoever is between two database calls get to sleep (or finish) before time moves.
        await new Promise((r) => setImmediate(r));
        this.advanceTo(at);
      }
    }
    return work;
  }
}
