import { performance } from 'node:perf_hooks';
import type { EvalOutcome } from './types.js';
import type { Limits } from './guards.js';

/** One unit of work, answered by exactly one `JobResult`: `sources` × `input`, or `sources[0]` × each of `inputs`. */
export interface WireJob {
  id: number;
  /** The organization the call is made for: the worker serves organizations round-robin. */
  org: string;
  /** Not started after this time (clock()): answered EXPR_BUSY without being evaluated. */
  notAfter: number;
  sources: readonly string[];
  input?: unknown;
  inputs?: readonly unknown[];
}

/** Worker → pool (in arrays): the outcomes of one job. */
export interface JobResult {
  id: number;
  outcomes: EvalOutcome[];
}

/** Worker → pool, once, when the worker has loaded and can evaluate. */
export const READY = 'ready';

/** `workerData` of an evaluation worker. */
export interface WorkerConfig {
  limits: Limits;
  /** Compiled expressions kept per worker. */
  cacheEntries: number;
  /** Total source characters of the cached expressions (a compiled AST takes ~60 bytes per character). */
  cacheChars: number;
  /** Shared progress cells, see Progress. */
  progress: SharedArrayBuffer;
}

/** Bytes of the shared progress buffer. */
export const PROGRESS_BYTES = 16;

/**
 * What the worker is doing, written before each evaluation and read by the pool's watchdog:
 * the running job's id (0 between jobs), the index of the expression or input it is at, and
 * when the job started (clock(), whole ms). The pool blames only the job named here.
 */
export class Progress {
  readonly #cells: Int32Array;
  readonly #started: BigInt64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.#cells = new Int32Array(buffer, 0, 2);
    this.#started = new BigInt64Array(buffer, 8, 1);
  }

  start(id: number): void {
    Atomics.store(this.#started, 0, BigInt(Math.floor(clock())));
    Atomics.store(this.#cells, 1, 0);
    Atomics.store(this.#cells, 0, id | 0);
  }

  at(index: number): void {
    Atomics.store(this.#cells, 1, index);
  }

  idle(): void {
    Atomics.store(this.#cells, 0, 0);
  }

  /** The running job (its id as an Int32), or undefined between jobs. */
  read(): { id: number; index: number; startedAt: number } | undefined {
    const id = Atomics.load(this.#cells, 0);
    if (id === 0) return undefined;
    return { id, index: Atomics.load(this.#cells, 1), startedAt: Number(Atomics.load(this.#started, 0)) };
  }
}

/** The message of EXPR_BUSY: a call that waited longer than `maxWaitMs` for a worker, not evaluated. */
export const BUSY_MESSAGE = 'Not evaluated: the expression workers were busy for too long; retry';

/** Milliseconds on a clock both threads share (performance.now() has a per-thread origin). */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}
