import type { Worker } from 'node:worker_threads';
import { blame, failed, timedOut, type Job } from './job.js';
import { BUSY_MESSAGE, clock, Progress, PROGRESS_BYTES, READY, type JobResult, type WireJob, type WorkerConfig } from './protocol.js';
import { FairQueue } from './fair-queue.js';
import { startWorker } from './thread.js';
import { InlineEvaluator } from './inline.js';
import type { EvalOutcome, Evaluator, EvaluatorOptions } from './types.js';

/** Jobs sent ahead to one worker, so it never waits for a round-trip while work is queued. */
const MAX_IN_FLIGHT = 32;
/** Inputs of evaluateForEach per job: each job gets the full time limit. */
const FOR_EACH_CHUNK = 64;

interface Slot {
  worker?: Worker;
  ready: boolean;
  /** Sent to the worker and not answered yet; the worker takes them round-robin by organization. */
  inFlight: Job[];
  /** The last sign of life: READY, an answer, or work sent to an idle worker. */
  since: number;
  /** Written by the worker: which job it is running, and since when. */
  progress?: Progress;
  timer?: NodeJS.Timeout;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`createEvaluator: ${name} must be a positive number`);
  return value;
}

/** Create a pool of worker threads that evaluate expressions under time and memory limits. */
export function createEvaluator(options: EvaluatorOptions = {}): Evaluator {
  const threads = Math.max(1, Math.floor(positive('threads', options.threads, 1)));
  const timeoutMs = positive('timeoutMs', options.timeoutMs, 1000);
  const maxWaitMs = positive('maxWaitMs', options.maxWaitMs, 30 * timeoutMs);
  const maxMemoryMb = positive('maxMemoryMb', options.maxMemoryMb, 64);
  const config: Omit<WorkerConfig, 'progress'> = {
    limits: {
      timeoutMs,
      maxResultBytes: positive('maxResultBytes', options.maxResultBytes, 1_000_000),
      maxSequence: positive('maxSequence', options.maxSequence, 100_000),
      maxDepth: positive('maxDepth', options.maxDepth, 200),
    },
    cacheEntries: 2000,
    cacheChars: 200_000,
  };
  const slots: Slot[] = Array.from({ length: threads }, () => ({ ready: false, inFlight: [], since: 0 }));
  /** Calls waiting for a worker, served round-robin by organization. */
  const pending = new FairQueue<Job>();
  let lastId = 0;
  let flushQueued = false;
  let closed = false;

  /** Job ids; never 0 as an Int32 (0 means "between jobs" in the progress cells). */
  function newId(): number {
    lastId++;
    if ((lastId | 0) === 0) lastId++;
    return lastId;
  }

  function spawn(slot: Slot): Worker {
    const progress = new SharedArrayBuffer(PROGRESS_BYTES);
    slot.progress = new Progress(progress);
    const worker = startWorker({ ...config, progress }, maxMemoryMb);
    let crash: Error | undefined;
    worker.on('message', (message: JobResult[] | typeof READY) => {
      if (slot.worker !== worker) return;
      if (message === READY) {
        slot.ready = true;
        slot.since = clock();
        arm(slot);
        return;
      }
      for (const result of message) answered(slot, result);
      if (slot.inFlight.length === 0) worker.unref();
      if (pending.size > 0) flush();
    });
    worker.on('error', (err) => (crash = err));
    worker.on('exit', () => {
      if (slot.worker === worker) died(slot, crash);
    });
    worker.unref(); // after adding listeners (a 'message' listener refs it again); ref'd only while it has work
    slot.worker = worker;
    slot.ready = false;
    return worker;
  }

  /** Make sure a watchdog runs while the slot has work. */
  function arm(slot: Slot): void {
    if (!slot.ready || slot.inFlight.length === 0) return;
    slot.timer ??= setTimeout(() => watch(slot), timeoutMs).unref();
  }

  /**
   * The job the worker says it is running is stopped once it has run `timeoutMs`. With none running
   * (between jobs) for `timeoutMs` while work is in flight, the worker is stuck outside any job.
   */
  function watch(slot: Slot): void {
    slot.timer = undefined;
    if (!slot.ready || slot.inFlight.length === 0) return;
    const now = clock();
    const running = slot.progress?.read();
    const job = running && slot.inFlight.find((j) => (j.wire.id | 0) === running.id);
    const since = job ? running.startedAt : Math.max(slot.since, running?.startedAt ?? 0);
    const elapsed = now - since;
    if (elapsed < timeoutMs) {
      slot.timer = setTimeout(() => watch(slot), timeoutMs - elapsed + 1).unref();
      return;
    }
    stop(slot, job ?? slot.inFlight[0]!, job ? running.index : -1, 'EXPR_TIMEOUT', `Evaluation did not finish within ${timeoutMs} ms and was stopped`);
  }

  function answered(slot: Slot, result: JobResult): void {
    const index = slot.inFlight.findIndex((job) => job.wire.id === result.id);
    if (index === -1) return;
    const job = slot.inFlight.splice(index, 1)[0]!;
    slot.since = clock();
    if (job.group && !job.group.timedOut) job.group.timedOut = result.outcomes.find(timedOut);
    job.settle(result.outcomes);
  }

  /**
   * Replace the worker; fail only `culprit`'s expression at `index` (the one running). Every other job
   * in flight — queued behind it, or finished with its answer not yet posted — is evaluated again.
   */
  function stop(slot: Slot, culprit: Job, index: number, code: string, message: string): void {
    const { worker } = slot;
    slot.worker = undefined;
    slot.ready = false;
    if (worker) void worker.terminate().catch(() => undefined);
    const others = slot.inFlight.filter((job) => job !== culprit);
    slot.inFlight = [];
    if (!closed) spawn(slot); // start the replacement now rather than on the next call
    const retry = blame(culprit, index, code, message, newId());
    if (retry) pending.unshift(retry.org, retry);
    for (const job of others.reverse()) pending.unshift(job.org, job);
    if (pending.size > 0) flush();
  }

  function died(slot: Slot, crash: Error | undefined): void {
    const reason = crash?.message ?? 'exited';
    if (!slot.ready) {
      // It never loaded: an installation problem, not the expressions' fault.
      slot.worker = undefined;
      for (const job of slot.inFlight.splice(0)) job.reject(new Error(`expression worker failed to start: ${reason}`));
      if (pending.size > 0) flush();
      return;
    }
    const outOfMemory = (crash as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const message = outOfMemory
      ? `Evaluation ran out of memory (limit ${maxMemoryMb} MB) and was stopped`
      : `Evaluation crashed its worker: ${reason}`;
    const running = slot.progress?.read();
    const job = running && slot.inFlight.find((j) => (j.wire.id | 0) === running.id);
    if (job || slot.inFlight.length > 0) stop(slot, job ?? slot.inFlight[0]!, job ? running.index : -1, 'EXPR_RESOURCE_LIMIT', message);
    else spawn(slot);
  }

  /**
   * Most jobs one organization has in flight on one worker. A worker runs its jobs one after another,
   * so this bounds how many of one organization's slow jobs (each up to the time limit) can stand
   * ahead of another organization's: with half the room (16), a flood of hostile `where` requests kept
   * another organization's dry run waiting past maxWaitMs on a loaded 2-core machine.
   */
  const ORG_IN_FLIGHT = 4;

  function flush(): void {
    flushQueued = false;
    if (closed) return;
    const batches = new Map<Slot, Job[]>();
    const now = clock();
    for (const slot of [...slots].sort((a, b) => a.inFlight.length - b.inFlight.length)) {
      while (slot.inFlight.length < MAX_IN_FLIGHT) {
        const job = pending.take((org) => slot.inFlight.filter((j) => j.org === org).length < ORG_IN_FLIGHT);
        if (!job) break;
        const skip = job.group?.timedOut;
        if (skip && !skip.ok) {
          job.settle(failed(job.count, skip.error.code, `Not evaluated, an earlier input timed out: ${skip.error.message}`));
          continue;
        }
        if (now > job.wire.notAfter) {
          job.settle(failed(job.count, 'EXPR_BUSY', BUSY_MESSAGE));
          continue;
        }
        if (slot.inFlight.length === 0) slot.since = now;
        slot.inFlight.push(job);
        const batch = batches.get(slot);
        if (batch) batch.push(job);
        else batches.set(slot, [job]);
      }
    }
    for (const [slot, batch] of batches) send(slot, batch);
  }

  function send(slot: Slot, batch: Job[]): void {
    const worker = slot.worker ?? spawn(slot);
    worker.ref();
    try {
      worker.postMessage(batch.map((job) => job.wire));
    } catch {
      // Some input could not be cloned: send one by one and reject just the offending calls.
      for (const job of batch) {
        try {
          worker.postMessage([job.wire]);
        } catch (err) {
          slot.inFlight.splice(slot.inFlight.indexOf(job), 1);
          job.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
      if (slot.inFlight.length === 0) worker.unref();
    }
    arm(slot);
  }

  function enqueue(org: string, sources: readonly string[], data: { input: unknown } | { inputs: readonly unknown[] }, count: number, group?: Job['group']): Promise<EvalOutcome[]> {
    if (closed) return Promise.reject(new Error('Evaluator is closed'));
    const wire: WireJob = { id: newId(), org, notAfter: clock() + maxWaitMs, sources, ...data };
    return new Promise((settle, reject) => {
      pending.push(org, { wire, org, count, settle, reject, group });
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
    });
  }

  for (const slot of slots) spawn(slot);
  const inline = options.inline === false ? undefined : new InlineEvaluator(config.limits);

  return {
    async evaluateMany(sources, input, call = {}) {
      if (closed) throw new Error('Evaluator is closed');
      if (sources.length === 0) return [];
      // Cheap expressions on small inputs are answered here, without a round trip (inline.ts).
      const answered = inline && (await inline.evaluateMany(sources, input));
      if (closed) throw new Error('Evaluator is closed');
      return answered || enqueue(call.org ?? '', sources, { input }, sources.length);
    },

    async evaluateForEach(source, inputs, call = {}) {
      const group = {};
      const chunks: Promise<EvalOutcome[]>[] = [];
      for (let i = 0; i < inputs.length; i += FOR_EACH_CHUNK) {
        const part = inputs.length <= FOR_EACH_CHUNK ? inputs : inputs.slice(i, i + FOR_EACH_CHUNK);
        chunks.push(enqueue(call.org ?? '', [source], { inputs: part }, part.length, group));
      }
      return (await Promise.all(chunks)).flat();
    },

    async close() {
      if (closed) return;
      closed = true;
      const gone = new Error('Evaluator is closed');
      const stopping: Promise<unknown>[] = [];
      for (const slot of slots) {
        if (slot.timer) clearTimeout(slot.timer);
        for (const job of slot.inFlight.splice(0)) job.reject(gone);
        if (slot.worker) stopping.push(slot.worker.terminate());
        slot.worker = undefined;
      }
      for (const job of pending.clear()) job.reject(gone);
      await Promise.all(stopping);
    },
  };
}
