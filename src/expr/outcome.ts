/** Turning what an evaluation threw into a failed outcome (shared by the worker and inline evaluation). */
import { GuardError, type Limits } from './guards.js';
import type { EvalOutcome } from './types.js';

export function failed(code: string, message: string): EvalOutcome {
  return { ok: false, error: { code, message } };
}

interface JsonataError {
  code?: unknown;
  message?: unknown;
}

export function evaluationFailure(err: unknown, limits: Limits): EvalOutcome {
  if (err instanceof GuardError) return failed(err.code, err.message);
  if (err instanceof RangeError) return failed('EXPR_RESOURCE_LIMIT', `Evaluation ran out of room: ${err.message}`);
  const e = (typeof err === 'object' && err !== null ? err : {}) as JsonataError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  switch (code) {
    case 'D1012':
      return failed('EXPR_TIMEOUT', `Evaluation exceeded the time limit of ${limits.timeoutMs} ms`);
    case 'D1011':
      return failed('EXPR_RESOURCE_LIMIT', `Evaluation nested deeper than the limit of ${limits.maxDepth}`);
    case 'D2014':
    case 'D2015':
      return failed('EXPR_RESOURCE_LIMIT', message);
  }
  return failed('EXPR_EVAL_ERROR', code ? `${message} (${code})` : message);
}
