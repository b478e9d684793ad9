// Evaluation worker: compiles (with the policy) and evaluates expressions, one job at a time.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { analyze, type CompileOptions } from './check.js';
import { copyPlain, guardedBuiltins, type Limits } from './guards.js';
import { evaluationFailure, failed } from './outcome.js';
import { BUSY_MESSAGE, clock, Progress, READY, type JobResult, type WireJob, type WorkerConfig } from './protocol.js';
import { FairQueue } from './fair-queue.js';
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
const progress = new Progress(config.progress);
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
  const count = job.inputs ? job.inputs.length : job.sources.length;
  // Waited too long behind other calls (load, not this call's doing): not evaluated, the caller may retry.
  if (clock() > job.notAfter) return { id: job.id, outcomes: Array.from({ length: count }, () => fail('EXPR_BUSY', BUSY_MESSAGE)) };
  const deadline = Date.now() + softBudgetMs;
  const outcomes: EvalOutcome[] = [];
  progress.start(job.id);
  for (let i = 0; i < count; i++) {
    progress.at(i);
    const source = job.inputs ? job.sources[0] : job.sources[i];
    outcomes.push(await evaluate(source ?? '', job.inputs ? job.inputs[i] : job.input, deadline));
  }
  progress.idle();
  return { id: job.id, outcomes };
}

/** Received jobs, served round-robin by organization. */
const queue = new FairQueue<WireJob>();
let draining = false;

/**
 * Answers are posted in batches: when the queue is empty, when the worker yields to its event loop
 * (at least every millisecond while busy, so calls that arrive meanwhile take their turn in the
 * round), and before a job of another organization starts — a finished answer is never held back
 * while someone else's job runs (and perhaps hangs: the pool would then have to evaluate it again).
 */
async function drain(): Promise<void> {
  draining = true;
  let done: JobResult[] = [];
  let doneOrg: string | undefined;
  let yielded = Date.now();
  const post = () => {
    if (done.length > 0) port.postMessage(done);
    done = [];
  };
  for (let job = queue.take(); job; job = queue.take()) {
    if (job.org !== doneOrg) post();
    done.push(await run(job));
    doneOrg = job.org;
    if (Date.now() - yielded >= 1) {
      post();
      await new Promise((resolve) => setImmediate(resolve));
      yielded = Date.now();
    }
  }
  post();
  draining = false;
}

port.on('message', (jobs: WireJob[]) => {
  for (const job of jobs) queue.push(job.org, job);
  if (!draining) void drain();
});
port.postMessage(READY);
