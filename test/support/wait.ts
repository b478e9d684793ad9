/**
 * Waiting in tests on something observable — a condition, a run's state, a bus event — instead of
 * sleeping a guessed time. Each fails with what it waited for when the time is up.
 */
import type { Bus, BusEvent } from '../../src/engine/bus.js';
import type { RunUpdatedData } from '../../src/engine/bus-events.js';

/**
 * Polls every `everyMs` until `check` returns a truthy value (or fails after `ms`; `what` may be a
 * function, to say what was seen last).
 */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000, what: string | (() => string) = 'condition', everyMs = 25): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Something that can answer a GET of the API (a TestApp, or a wrapper around another server). */
export interface RunReader {
  call(method: 'GET', url: string): Promise<{ statusCode: number; json(): unknown }>;
}

export const FINISHED_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;

/** The run (as `GET /runs/{id}` shows it) once its status is one of `statuses` (default: finished). */
export async function runInState<R = RunView>(app: RunReader, runId: string, statuses: readonly string[] = FINISHED_STATUSES, ms = 10_000): Promise<R> {
  return eventually(
    async () => {
      const r = (await app.call('GET', `/api/v1/runs/${runId}`)).json() as RunView;
      return statuses.includes(r.status) ? (r as R) : undefined;
    },
    ms,
    `run ${runId} to be ${statuses.join(' or ')}`,
  );
}

/** The fields of a run the tests read most; the rest is there too. */
export interface RunView {
  id: string;
  status: string;
  error: { code: string; message: string; retryable: boolean; origin?: string; cause?: unknown; details?: unknown } | null;
  steps: Array<{ task: string; status: string; attempts: number; input: unknown; output: unknown; error: RunView['error'] }>;
  [field: string]: unknown;
}

/**
 * Records the bus events of one organization from now on, and resolves `next(match)` with the first
 * event (already seen or still to come) that matches. `stop()` unsubscribes.
 */
export function recordEvents(bus: Bus, orgId?: string) {
  const seen: BusEvent[] = [];
  const waiters = new Set<{ match: (e: BusEvent) => boolean; resolve: (e: BusEvent) => void }>();
  const unsubscribe = bus.subscribe((e) => {
    if (orgId !== undefined && e.orgId !== orgId) return;
    seen.push(e);
    for (const w of waiters) {
      if (!w.match(e)) continue;
      waiters.delete(w);
      w.resolve(e);
    }
  });
  return {
    seen,
    /** run.updated data of this run, in order. */
    runUpdates: (runId: string): RunUpdatedData[] => seen.flatMap((e) => (e.type === 'run.updated' && e.data.id === runId ? [e.data] : [])),
    next(match: (e: BusEvent) => boolean, ms = 10_000, what = 'a bus event'): Promise<BusEvent> {
      const found = seen.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (e: BusEvent) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`timed out waiting for ${what}`));
        }, ms);
        waiters.add(w);
      });
    },
    stop: unsubscribe,
  };
}

/**
 * Waits until `done(value)` for a measured count (e.g. runs finished), however long that takes while
 * the count keeps moving; fails only when it stood still for `stallMs`. For suites whose pace depends
 * on the machine's load: a stall is a bug, slowness is not.
 */
export async function whileProgressing<T>(measure: () => Promise<T>, done: (value: T) => boolean, progress: (value: T) => number, stallMs: number, what: (value: T) => string): Promise<T> {
  let value = await measure();
  let last = progress(value);
  let movedAt = Date.now();
  while (!done(value)) {
    if (Date.now() - movedAt > stallMs) throw new Error(`no progress for ${stallMs} ms waiting for ${what(value)}`);
    await new Promise((r) => setTimeout(r, 100));
    value = await measure();
    const now = progress(value);
    if (now !== last) {
      last = now;
      movedAt = Date.now();
    }
  }
  return value;
}

/**
 * Wakes a worker and resolves once it has begun two more claims than now: the second began after the
 * first ended, so whatever was committed before this call was there for it to see. The way to assert
 * that a worker does NOT pick something up, without sleeping a guessed time.
 */
export async function claimRoundsPassed(worker: { counters: { claims: number } }, bus: Bus, ms = 10_000): Promise<void> {
  const target = worker.counters.claims + 2;
  const poke = setInterval(() => bus.runsQueued(), 20);
  try {
    bus.runsQueued();
    await eventually(() => worker.counters.claims >= target, ms, 'two claim rounds of the worker');
  } finally {
    clearInterval(poke);
  }
}

/**
 * Lets the event loop go round `n` times (each turn runs the microtasks, timers due and setImmediate
 * callbacks queued before it). For code that works without I/O — better-sqlite3 is synchronous, the
 * SQLite writer schedules its drain with setImmediate —: after a few turns it has done all it can, so
 * "it did not happen" is then a fact, not a guess about the machine's speed.
 */
export async function eventLoopTurns(n = 1): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Resolves once the wall clock is past `t` (ms, or an ISO timestamp as the API shows them): a timestamp
 * taken after this is later than `t`, even at millisecond precision. For "updatedAt moved" checks.
 */
export async function clockPassed(t: number | string): Promise<void> {
  const at = typeof t === 'string' ? Date.parse(t) : t;
  while (Date.now() <= at) await new Promise((r) => setTimeout(r, 1));
}
