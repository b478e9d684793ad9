/**
 * Failures are data (DESIGN.md "Execution"): task kinds and connectors report what went wrong;
 * only the engine decides whether to retry. Every code is in the catalogue (failure-codes.ts,
 * docs/failures.md), which also says who raises it: the engine or a task.
 */
export interface Failure {
  /** Stable code from the catalogue, e.g. HTTP_STATUS_503, NETWORK_ERROR, STEP_TIMEOUT. */
  code: string;
  message: string;
  /** Whether repeating the step could succeed. */
  retryable: boolean;
  /** The provider asked us to wait this long (Retry-After) before trying again. */
  retryAfterMs?: number;
  details?: unknown;
  /**
   * Who raised it: `engine` (the run, its process, its expressions, the step's time limit) or `task`
   * (the task kind or its provider). Set by the engine when the step is recorded; the catalogue's when
   * absent (failure-codes.ts `withOrigin`).
   */
  origin?: FailureOrigin;
  /** The underlying error, when the failure wraps one: its message, and its code or name if it had one. */
  cause?: FailureCause;
}

export type FailureOrigin = 'engine' | 'task';

export interface FailureCause {
  message: string;
  /** E.g. ECONNREFUSED, UND_ERR_SOCKET, EXPR_EVAL_ERROR. */
  code?: string;
  /** The error's class, e.g. TypeError. */
  name?: string;
}

/** Thrown by task kinds; carries a Failure. */
export class TaskFailure extends Error {
  readonly failure: Failure;

  constructor(failure: Failure) {
    super(failure.message);
    this.name = 'TaskFailure';
    this.failure = failure;
  }
}

/** A task's failure, to throw. */
export function failure(code: string, message: string, retryable: boolean, extra: Partial<Failure> = {}): TaskFailure {
  return new TaskFailure({ code, message, retryable, ...extra });
}

/** A failure the engine raises itself (not a task's): recorded with `origin: 'engine'`. */
export function engineFailure(code: string, message: string, retryable: boolean, extra: Partial<Failure> = {}): Failure {
  return { code, message, retryable, ...extra, origin: 'engine' };
}

/** Any thrown value as a Failure (unknown errors are retryable: they are most often transient); keeps the error as `cause`. */
export function toFailure(err: unknown): Failure {
  if (err instanceof TaskFailure) return err.failure;
  if (err instanceof Error) return { code: 'TASK_ERROR', message: err.message, retryable: true, cause: causeOf(err) };
  return { code: 'TASK_ERROR', message: String(err), retryable: true };
}

/** An error as a failure's `cause`. */
export function causeOf(err: unknown): FailureCause {
  if (!(err instanceof Error)) return { message: String(err) };
  const cause: FailureCause = { message: err.message, name: err.name };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') cause.code = code;
  return cause;
}
