// Evaluation worker: compiles (with the policy) and evaluates expressions, one job at a time.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { analyze, type CompileOptions } from './check.js';
import { copyPlain, guardedBuiltins, type Limits } from './guards.js';
import { evaluationFailure, failed } from './outcome.js';
import { READY, type JobResult, type WireJob, type WorkerConfig } from './protocol.js';
import type { EvalOutcome } from './types.js';
import type jsonata from 'jsonata';

type Compiled = { expression: jsonata.Expression; options: CompileOptions } | { failure: EvalOutcome };

if (!parentPort) throw new Error('src/expr/worker is a worker_threads entry point');
const port: MessagePort = parentPort;
const config = workerData as WorkerConfig;
const limits: Limits = config.limits;
/** Soft budget per job, inside the pool's hard timeout, so most slow expressions end without killing the worker. */
const softBudgetMs = Math.max(1, Math.floor(limits.timeoutMs * 0.75));
const builtins = await guardedBuiltins(limits);
const progress = new Int32Array(config.progress);
const cache = new Map<string, Compiled>();
let cachedChars = 0;

function compile(source: string): Compiled {
  const hit = cache.get(source);
  if (hit) {
    cache.delete(source); // re-insert: a Map iterates in insertion order, so the first key is least recent
    cache.set(source, hit);
    return hit;
  }
  const options: CompileOptions = { stack: limits.maxDepth, sequence: limits.maxSequence, timeout: softBudgetMs };
  const { expression, errors } = analyze(source, options);
  let compiled: Compiled;
  if (expression) {
    for (const [name, fn] of builtins) expression.assign(name, fn);
    compiled = { expression, options };
  } else {
    const first = errors[0];
    const where = first?.line ? ` (line ${first.line}, column ${first.column})` : '';
    compiled = { failure: fail(first?.code ?? 'EXPR_SYNTAX', `${first?.message ?? 'Invalid expression'}${where}`) };
  }
  cache.set(source, compiled);
  cachedChars += source.length;
  for (const [key] of cache) {
    if (cache.size <= config.cacheEntries && cachedChars <= config.cacheChars) break;
    cache.delete(key);
    cachedChars -= key.length;
  }
  return compiled;
}

const fail = failed;

function failure(err: unknown): EvalOutcome {
  return evaluationFailure(err, limits);
}

async function evaluate(source: string, input: unknown, deadline: number): Promise<EvalOutcome> {
  const compiled = compile(source);
  if ('failure' in compiled) return compiled.failure;
  const left = deadline - Date.now();
  if (left <= 0) return fail('EXPR_TIMEOUT', `Evaluation exceeded the time limit of ${limits.timeoutMs} ms`);
  compiled.options.timeout = left; // JSONata reads its options on every step, so this bounds the whole job
  try {
    const value: unknown = await compiled.expression.evaluate(input);
    // Fast path for the usual scalar result; copyPlain turns sequences into arrays and refuses functions.
    if (value === undefined || value === null || typeof value === 'boolean' || typeof value === 'number') return { ok: true, value };
    return { ok: true, value: copyPlain(value, limits) };
  } catch (err) {
    return failure(err);
  }
}

async function run(job: WireJob): Promise<JobResult> {
  const deadline = Date.now() + softBudgetMs;
  const outcomes: EvalOutcome[] = [];
  const count = job.inputs ? job.inputs.length : job.sources.length;
  Atomics.store(progress, 0, job.id);
  for (let i = 0; i < count; i++) {
    Atomics.store(progress, 1, i);
    const source = job.inputs ? job.sources[0] : job.sources[i];
    outcomes.push(await evaluate(source ?? '', job.inputs ? job.inputs[i] : job.input, deadline));
  }
  return { id: job.id, outcomes };
}

const queue: WireJob[] = [];
let draining = false;

/**
 * Answers are posted in batches: when the queue is empty, or every `postEveryMs` while busy
 * (the pool restarts its watchdog on each answer, so answers must not be held back long).
 */
const postEveryMs = Math.max(1, Math.floor(limits.timeoutMs / 10));

async function drain(): Promise<void> {
  draining = true;
  let done: JobResult[] = [];
  let posted = Date.now();
  for (let job = queue.shift(); job; job = queue.shift()) {
    done.push(await run(job));
    if (Date.now() - posted >= postEveryMs) {
      port.postMessage(done);
      done = [];
      posted = Date.now();
    }
  }
  if (done.length > 0) port.postMessage(done);
  draining = false;
}

port.on('message', (jobs: WireJob[]) => {
  for (const job of jobs) queue.push(job);
  if (!draining) void drain();
});
port.postMessage(READY);
