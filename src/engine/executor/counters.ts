/**
 * What the workers do, counted: claims (and how many took nothing), runs claimed, due runs left
 * behind by a concurrency cap, and what ended each wait. Claims per run delivered is the figure that
 * shows whether a worker spins or idles (bench/e2e prints it); tests assert on these counts instead of
 * on wall time.
 */
export interface WorkerCounters {
  /** Claim transactions. */
  claims: number;
  /** Claims that took no run. */
  emptyClaims: number;
  /** Runs claimed. */
  runsClaimed: number;
  /** Due runs left in the queue because their process was at its cap (once per claim that saw one). */
  cappedSkips: number;
  /** Ends of runs that freed a slot of a process at its cap, each signalled to the workers. */
  slotSignals: number;
  /** What ended a wait: a signal (runs queued, a slot freed, here or in another process), a retry or delay coming due, the poll. */
  wakes: { signal: number; due: number; poll: number };
}

export function newWorkerCounters(): WorkerCounters {
  return { claims: 0, emptyClaims: 0, runsClaimed: 0, cappedSkips: 0, slotSignals: 0, wakes: { signal: 0, due: 0, poll: 0 } };
}

/** The counters of every worker of this process (GET /api/v1/workers sums them). */
export class WorkerCounterSet {
  readonly #all: WorkerCounters[] = [];

  /** Counters for one more worker. */
  add(): WorkerCounters {
    const c = newWorkerCounters();
    this.#all.push(c);
    return c;
  }

  /** The sum over this process's workers, and how many there are. */
  total(): WorkerCounters & { workers: number } {
    const t = newWorkerCounters();
    for (const c of this.#all) {
      t.claims += c.claims;
      t.emptyClaims += c.emptyClaims;
      t.runsClaimed += c.runsClaimed;
      t.cappedSkips += c.cappedSkips;
      t.slotSignals += c.slotSignals;
      t.wakes.signal += c.wakes.signal;
      t.wakes.due += c.wakes.due;
      t.wakes.poll += c.wakes.poll;
    }
    return { workers: this.#all.length, ...t };
  }
}
