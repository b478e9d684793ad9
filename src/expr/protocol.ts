import type { EvalOutcome } from './types.js';
import type { Limits } from './guards.js';

/** One unit of work, answered by exactly one `JobResult`: `sources` × `input`, or `sources[0]` × each of `inputs`. */
export interface WireJob {
  id: number;
  sources: readonly string[];
  input?: unknown;
  inputs?: readonly unknown[];
}

/** Worker → pool (in arrays, in job order): the outcomes of one job. */
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
  /** Shared [job id, index]: set before each evaluation, so the pool can tell which one hung. */
  progress: SharedArrayBuffer;
}
