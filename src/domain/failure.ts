/**
 * Failures are data (DESIGN.md "Execution"): task kinds and connectors report what went wrong;
 * only the engine decides whether to retry.
 */
export interface Failure {
  /** Stable code, e.g. HTTP_STATUS_503, NETWORK_ERROR, HUBSPOT_VALIDATION_ERROR. */
  code: string;
  message: string;
  /** Whether repeating the step could succeed. */
  retryable: boolean;
  /** The provider asked us to wait this long (Retry-After) before trying again. */
  retryAfterMs?: number;
  details?: unknown;
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

export function failure(code: string, message: string, retryable: boolean, extra: Partial<Failure> = {}): TaskFailure {
  return new TaskFailure({ code, message, retryable, ...extra });
}

/** Any thrown value as a Failure (unknown errors are retryable: they are most often transient). */
export function toFailure(err: unknown): Failure {
  if (err instanceof TaskFailure) return err.failure;
  if (err instanceof Error) return { code: 'TASK_ERROR', message: err.message, retryable: true };
  return { code: 'TASK_ERROR', message: String(err), retryable: true };
}
