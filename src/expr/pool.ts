import type { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { blame, failed, timedOut, type Job } from './job.js';
import { READY, type JobResult, type WireJob, type WorkerConfig } from './protocol.js';
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
  /** Sent to the worker and not answered yet; the worker runs them in this order. */
  inFlight: Job[];
  /** When the head of `inFlight` started running (about). */
  since: number;
  /** Written by the worker before each evaluation: [job id, index of the source or input]. */
  progress?: Int32Array;
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
  const pending: Job[] = [];
  let nextId = 1;
  let flushQueued = false;
  let closed = false;

  function spawn(slot: Slot): Worker {
    const progress = new SharedArrayBuffer(8);
    slot.progress = new Int32Array(progress);
    const worker = startWorker({ ...config, progress }, maxMemoryMb);
    let crash: Error | undefined;
    worker.on('message', (message: JobResult[] | typeof READY) => {
      if (slot.worker !== worker) return;
      if (message === READY) {
        slot.ready = true;
        slot.since = performance.now();
        arm(slot);
        return;
      }
      for (const result of message) answered(slot, result);
      if (slot.inFlight.length === 0) worker.unref();
      if (pending.length > 0) flush();
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

  /** Make sure a watchdog runs while the slot has work; `since` is when its head job started. */
  function arm(slot: Slot): void {
    if (!slot.ready || slot.inFlight.length === 0) return;
    slot.timer ??= setTimeout(() => watch(slot), timeoutMs).unref();
  }

  function watch(slot: Slot): void {
    slot.timer = undefined;
    if (!slot.ready || slot.inFlight.length === 0) return;
    const elapsed = performance.now() - slot.since;
    if (elapsed < timeoutMs) {
      slot.timer = setTimeout(() => watch(slot), timeoutMs - elapsed + 1).unref();
      return;
    }
    stop(slot, 'EXPR_TIMEOUT', `Evaluation did not finish within ${timeoutMs} ms and was stopped`);
  }

  function answered(slot: Slot, result: JobResult): void {
    // The worker answers in order, so this is the head; look it up anyway rather than trust it.
    const index = slot.inFlight.findIndex((job) => job.wire.id === result.id);
    if (index === -1) return;
    const job = slot.inFlight.splice(index, 1)[0]!;
    slot.since = performance.now();
    if (job.group && !job.group.timedOut) job.group.timedOut = result.outcomes.find(timedOut);
    job.settle(result.outcomes);
  }

  /** Blame the running job, replace the worker, and send the other jobs again. */
  function stop(slot: Slot, code: string, message: string): void {
    const { worker, progress } = slot;
    slot.worker = undefined;
    slot.ready = false;
    if (worker) void worker.terminate().catch(() => undefined);
    const [culprit, ...innocent] = slot.inFlight;
    slot.inFlight = [];
    if (!closed) spawn(slot); // start the replacement now rather than on the next call
    // The shared cell holds the id as an Int32 (`| 0`), so compare it that way.
    const running = progress && culprit && Atomics.load(progress, 0) === (culprit.wire.id | 0) ? Atomics.load(progress, 1) : -1;
    const retry = culprit ? blame(culprit, running, code, message, nextId++) : undefined;
    pending.unshift(...(retry ? [retry] : []), ...innocent);
    if (pending.length > 0) flush();
  }

  function died(slot: Slot, crash: Error | undefined): void {
    const reason = crash?.message ?? 'exited';
    if (!slot.ready) {
      // It never loaded: an installation problem, not the expressions' fault.
      slot.worker = undefined;
      for (const job of slot.inFlight.splice(0)) job.reject(new Error(`expression worker failed to start: ${reason}`));
      if (pending.length > 0) flush();
      return;
    }
    const outOfMemory = (crash as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const message = outOfMemory
      ? `Evaluation ran out of memory (limit ${maxMemoryMb} MB) and was stopped`
      : `Evaluation crashed its worker: ${reason}`;
    stop(slot, 'EXPR_RESOURCE_LIMIT', message);
  }

  function flush(): void {
    flushQueued = false;
    if (closed) return;
    const batches = new Map<Slot, Job[]>();
    while (pending.length > 0) {
      let slot = slots[0]!;
      for (const s of slots) if (s.inFlight.length < slot.inFlight.length) slot = s;
      if (slot.inFlight.length >= MAX_IN_FLIGHT) break;
      const job = pending.shift()!;
      const skip = job.group?.timedOut;
      if (skip && !skip.ok) {
        job.settle(failed(job.count, skip.error.code, `Not evaluated, an earlier input timed out: ${skip.error.message}`));
        continue;
      }
      if (slot.inFlight.length === 0) slot.since = performance.now();
      slot.inFlight.push(job);
      const batch = batches.get(slot);
      if (batch) batch.push(job);
      else batches.set(slot, [job]);
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

  function enqueue(wire: WireJob, count: number, group?: Job['group']): Promise<EvalOutcome[]> {
    if (closed) return Promise.reject(new Error('Evaluator is closed'));
    return new Promise((settle, reject) => {
      pending.push({ wire, count, settle, reject, group });
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
    });
  }

  for (const slot of slots) spawn(slot);
  const inline = options.inline === false ? undefined : new InlineEvaluator(config.limits);

  return {
    async evaluateMany(sources, input) {
      if (closed) throw new Error('Evaluator is closed');
      if (sources.length === 0) return [];
      // Cheap expressions on small inputs are answered here, without a round trip (inline.ts).
      const answered = inline && (await inline.evaluateMany(sources, input));
      if (closed) throw new Error('Evaluator is closed');
      return answered || enqueue({ id: nextId++, sources, input }, sources.length);
    },

    async evaluateForEach(source, inputs) {
      const group = {};
      const chunks: Promise<EvalOutcome[]>[] = [];
      for (let i = 0; i < inputs.length; i += FOR_EACH_CHUNK) {
        const part = inputs.length <= FOR_EACH_CHUNK ? inputs : inputs.slice(i, i + FOR_EACH_CHUNK);
        chunks.push(enqueue({ id: nextId++, sources: [source], inputs: part }, part.length, group));
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
      for (const job of pending.splice(0)) job.reject(gone);
      await Promise.all(stopping);
    },
  };
}
