import type { WireJob } from './protocol.js';
import type { EvalOutcome } from './types.js';

/** A call (or a chunk of an evaluateForEach call) waiting in the pool. */
export interface Job {
  wire: WireJob;
  /** The organization the call is made for (its queue in the pool). */
  org: string;
  /** Number of outcomes it answers with. */
  count: number;
  settle(outcomes: EvalOutcome[]): void;
  reject(err: Error): void;
  /** Shared by the chunks of one evaluateForEach call: once one times out, the rest are not run. */
  group?: { timedOut?: EvalOutcome };
}

/** `count` failed outcomes with the same error. */
export function failed(count: number, code: string, message: string): EvalOutcome[] {
  return Array.from({ length: count }, () => ({ ok: false, error: { code, message } }));
}

export function timedOut(outcome: EvalOutcome): boolean {
  return !outcome.ok && outcome.error.code === 'EXPR_TIMEOUT';
}

/**
 * Fail the job that was running when its worker was stopped. `running` is the index the
 * worker reported it was evaluating. For evaluateMany only that expression fails, and the
 * returned job (with id `retryId`) evaluates the others again; its outcomes are merged back.
 */
export function blame(job: Job, running: number, code: string, message: string, retryId: number): Job | undefined {
  if (job.wire.inputs || job.count === 1 || running < 0 || running >= job.count) {
    const outcomes = failed(job.count, code, message);
    if (job.group && code === 'EXPR_TIMEOUT') job.group.timedOut = outcomes[0];
    job.settle(outcomes);
    return undefined;
  }
  const others = job.wire.sources.filter((_, i) => i !== running);
  return {
    wire: { ...job.wire, id: retryId, sources: others },
    org: job.org,
    count: others.length,
    reject: job.reject,
    settle(outcomes) {
      outcomes.splice(running, 0, ...failed(1, code, message));
      job.settle(outcomes);
    },
  };
}
