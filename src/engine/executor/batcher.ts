/**
 * Provider batching (docs/provider-batching.md): steps of a `batchable` task kind that are ready at about
 * the same time share one provider call. Steps join a lane by their group key; the adaptive window is the
 * lane's own call: a step that finds no call of its key in flight goes out at once (a lone step waits for
 * nothing), and steps that arrive while one is in flight (or waiting for its rate-limit slot) gather and
 * go out together when it returns, at most `maxSize` per call. While a full call's worth is waiting, a lane sends
 * it at once even with calls in flight, up to `maxCallsInFlight` (CALLS_IN_FLIGHT) at a time: a provider answering
 * in 150 ms otherwise caps a lane at ~100 records per 150 ms. Two members with the same identity are never in one
 * call, nor in two calls in flight at once. Each member gets its own outcome. A call of one step is the kind's own
 * `run` (its single-record path), so a lone step behaves exactly as without batching.
 *
 * Each step keeps its own time limit and the worker's shutdown: a member aborted before its call went out
 * leaves the lane; one aborted during the call gets its abort at once (run-run.ts races the step's signal)
 * and the call goes on for the others — whatever it does for the aborted member (e.g. keep a link) is safe
 * to repeat, as every step's effect is. The call's own signal aborts only when all its members are aborted.
 */
import { failure } from '../../domain/failure.js';
import type { BatchOutcome, BatchPlan, TaskBatching, TaskContext, TaskKind } from '../../connectors/types.js';

/** What the batcher did (for tests and GET /api/v1/workers-style reporting): assert on these, not on timings. */
export interface BatcherCounters {
  /** Grouped calls made (one `runMany` each). */
  calls: number;
  /** Steps sent in them. */
  members: number;
  /** Calls that went out at once because no call of their key was in flight (no window waited for). */
  immediate: number;
  /** The largest call. */
  largest: number;
  /** Steps whose time limit or worker shutdown aborted them before their call went out. */
  abandoned: number;
  /** Calls that went out while another call of their lane was in flight (full ones only). */
  concurrent: number;
  /** The most calls of one lane in flight at once. */
  inFlightMax: number;
}

interface Waiting {
  input: Record<string, unknown>;
  plan: BatchPlan;
  ctx: TaskContext;
  sent: boolean;
  settled: boolean;
  settle(outcome: BatchOutcome): void;
  onAbort(): void;
}

/** Longest a call with room left waits for steps on their way (their input being evaluated). */
export const ARRIVAL_WAIT_MS = 20;

/**
 * Calls of one lane in flight at once when the kind does not say (`TaskBatching.maxCallsInFlight`). HubSpot limits
 * requests per second and per 10 s, not concurrent ones; each call still waits for its own rate-limit slot.
 */
export const CALLS_IN_FLIGHT = 4;

interface Lane {
  kind: TaskKind;
  batching: TaskBatching<never>;
  /** maxSize and calls in flight at most, at least 1 each. */
  max: number;
  cap: number;
  queue: Waiting[];
  /** Calls of this lane in flight. */
  calls: number;
  /** Identities of the members of calls in flight: a step with one of them waits for that call to end. */
  busy: Set<string>;
  /** The first call of a drain is waiting for steps on their way (#gather): no other call starts meanwhile. */
  gathering: boolean;
  /** No call has gone out since the lane was opened (the next one counts as immediate). */
  fresh: boolean;
}

export class Batcher {
  readonly counters: BatcherCounters = { calls: 0, members: 0, immediate: 0, largest: 0, abandoned: 0, concurrent: 0, inFlightMax: 0 };
  readonly #lanes = new Map<string, Lane>();
  #holding = 0;
  /** Steps of batchable kinds on their way here (expect() not yet answered). */
  #arriving = 0;
  /** Drains waiting for steps on their way: woken when one arrives or leaves. */
  #waiters = new Set<() => void>();

  /** `onHold`: a step entered the batcher (the executor does not count held steps against its slots). */
  constructor(private readonly onHold: () => void = () => {}) {}

  /** Steps waiting in the batcher now: gathering for a call, or in one. */
  get holding(): number {
    return this.#holding;
  }

  /** Steps of batchable kinds on their way (for tests). */
  get arriving(): number {
    return this.#arriving;
  }

  /**
   * A step of a batchable kind is on its way (its input is being evaluated). Returns the function that says
   * it arrived (run() calls it once the step is in its lane) or will not come; calling it again does nothing.
   */
  expect(): () => void {
    this.#arriving++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#arriving--;
      for (const wake of this.#waiters) wake();
    };
  }

  /**
   * Runs a step: through a grouped call when its kind is batchable and plans one, else with `kind.run` alone.
   * `arrived`: expect()'s answer for this step, called once it has joined its lane (or goes alone).
   */
  async run(kind: TaskKind, input: Record<string, unknown>, ctx: TaskContext, arrived?: () => void): Promise<unknown> {
    let plan: BatchPlan | null;
    try {
      plan = kind.batch ? await kind.batch.plan(input, ctx) : null;
    } catch (err) {
      arrived?.();
      throw err;
    }
    if (!plan || !kind.batch) {
      arrived?.();
      return kind.run(input, ctx);
    }
    const submitted = this.#submit(kind, input, plan, ctx);
    arrived?.();
    return submitted;
  }

  #submit(kind: TaskKind, input: Record<string, unknown>, plan: BatchPlan, ctx: TaskContext): Promise<unknown> {
    const { signal } = ctx;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<unknown>((resolve, reject) => {
      const w: Waiting = {
        input,
        plan,
        ctx,
        sent: false,
        settled: false,
        settle: (o) => {
          if (w.settled) return;
          w.settled = true;
          signal.removeEventListener('abort', w.onAbort);
          this.#hold(-1);
          if (o.ok) resolve(o.output);
          else reject(o.error);
        },
        onAbort: () => {
          if (!w.sent) {
            const lane = this.#lanes.get(plan.key);
            const at = lane ? lane.queue.indexOf(w) : -1;
            if (at >= 0) lane!.queue.splice(at, 1);
            this.counters.abandoned++;
          }
          w.settle({ ok: false, error: signal.reason });
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.#hold(1);
      let lane = this.#lanes.get(plan.key);
      if (!lane) {
        const batching = kind.batch as TaskBatching<never>;
        const cap = Math.max(1, batching.maxCallsInFlight ?? CALLS_IN_FLIGHT);
        lane = { kind, batching, max: Math.max(1, batching.maxSize), cap, queue: [], calls: 0, busy: new Set(), gathering: false, fresh: true };
        this.#lanes.set(plan.key, lane);
      }
      lane.queue.push(w);
      if (lane.gathering) {
        if (lane.queue.length >= lane.max) for (const wake of this.#waiters) wake();
      } else if (lane.calls === 0 || lane.queue.length >= lane.max) this.#pump(plan.key, lane);
    });
  }

  #hold(n: number): void {
    this.#holding += n;
    if (n > 0) this.onHold();
  }

  /**
   * Starts the lane's calls that may go now: with no call in flight, the steps waiting (after waiting for those on
   * their way, #gather); with some in flight, only a full call, and only while fewer than the lane's cap are.
   * Partial groups gather behind the calls in flight. Called when a step joins, when a call ends, and after a
   * gathering (`gathered`: what is waiting goes now, even if some step is still on its way).
   */
  #pump(key: string, lane: Lane, gathered = false): void {
    while (!lane.gathering && lane.queue.length > 0 && lane.calls < lane.cap) {
      const alone = lane.calls === 0;
      if (!alone && lane.queue.length < lane.max) break;
      // Only when someone is on its way: an await would let steps that come later jump the queue's order.
      if (alone && !gathered && this.#arriving > 0 && lane.queue.length < lane.max) {
        lane.gathering = true;
        void this.#gather(lane).then(() => {
          lane.gathering = false;
          this.#pump(key, lane, true);
        });
        return;
      }
      const { members, rest } = take(lane);
      // Nothing to send (every waiting step's record is in a call in flight), or, beside calls in flight, no full call.
      if (members.length === 0 || (!alone && members.length < lane.max)) break;
      lane.queue = rest;
      this.#start(key, lane, members);
    }
    if (lane.queue.length === 0 && lane.calls === 0 && !lane.gathering && this.#lanes.get(key) === lane) this.#lanes.delete(key);
  }

  /** While the lane has room and steps are on their way, waits for them (at most ARRIVAL_WAIT_MS). */
  async #gather(lane: Lane): Promise<void> {
    const max = lane.max;
    if (this.#arriving === 0 || lane.queue.length >= max) return;
    const until = performance.now() + ARRIVAL_WAIT_MS;
    while (this.#arriving > 0 && lane.queue.length < max && lane.queue.length > 0) {
      const left = until - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          // Woken only when waiting is over: the lane is full or no step is on its way any more.
          if (this.#arriving > 0 && lane.queue.length < max && lane.queue.length > 0) return;
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(() => {
          this.#waiters.delete(wake);
          resolve();
        }, left);
        this.#waiters.add(wake);
      });
    }
  }

  /** Sends one call; when it ends, its members' identities are free again and the lane may start the next. */
  #start(key: string, lane: Lane, members: Waiting[]): void {
    const c = this.counters;
    if (lane.fresh) c.immediate++;
    else if (lane.calls > 0) c.concurrent++;
    lane.fresh = false;
    lane.calls++;
    c.inFlightMax = Math.max(c.inFlightMax, lane.calls);
    for (const w of members) if (w.plan.identity !== undefined) lane.busy.add(w.plan.identity);
    void this.#send(lane, members).finally(() => {
      lane.calls--;
      for (const w of members) if (w.plan.identity !== undefined) lane.busy.delete(w.plan.identity);
      this.#pump(key, lane);
    });
  }

  async #send(lane: Lane, members: Waiting[]): Promise<void> {
    const c = this.counters;
    c.calls++;
    c.members += members.length;
    c.largest = Math.max(c.largest, members.length);
    const call = new AbortController();
    let live = members.length;
    const gone = () => {
      if (--live === 0) call.abort(members[0]!.ctx.signal.reason);
    };
    for (const w of members) {
      w.sent = true;
      if (w.ctx.signal.aborted) gone();
      else w.ctx.signal.addEventListener('abort', gone, { once: true });
    }
    let outcomes: BatchOutcome[];
    try {
      // A call of one is the kind's own single-record path: a lone step behaves exactly as without batching.
      if (members.length === 1) outcomes = [{ ok: true, output: await lane.kind.run(members[0]!.input, members[0]!.ctx) }];
      else outcomes = await lane.batching.runMany(members.map((w) => ({ item: w.plan.item, ctx: w.ctx })), call.signal);
    } catch (error) {
      outcomes = members.map(() => ({ ok: false, error }));
    }
    members.forEach((w, i) => {
      w.ctx.signal.removeEventListener('abort', gone);
      // Made only when missing: a failure is an Error, and its stack trace cost ~1 % of bench/batch's CPU made for every member.
      w.settle(outcomes[i] ?? { ok: false, error: failure('BATCH_OUTCOME_MISSING', `The grouped call gave no outcome for member ${i} of ${members.length}.`, true) });
    });
  }
}

/**
 * The next call's members: up to maxSize steps in arrival order, never two with the same identity nor one whose
 * identity is in a call in flight; `rest` is the queue without them (the caller keeps it when it sends them).
 */
function take(lane: Lane): { members: Waiting[]; rest: Waiting[] } {
  const members: Waiting[] = [];
  const rest: Waiting[] = [];
  const seen = new Set<string>();
  for (const w of lane.queue) {
    const id = w.plan.identity;
    if (members.length >= lane.max || (id !== undefined && (seen.has(id) || lane.busy.has(id)))) rest.push(w);
    else {
      members.push(w);
      if (id !== undefined) seen.add(id);
    }
  }
  return { members, rest };
}
