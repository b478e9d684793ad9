/** Retry policy of a process and the backoff between attempts (one pure function, unit-tested). */
export interface RetryPolicy {
  /** Attempts of one step in all, the first included (1 = no retry). */
  maxAttempts: number;
  /** Delay before the second attempt. */
  initialDelayMs: number;
  /** Cap on any delay. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 60_000 };

/**
 * Delay before attempt `attempt + 1` after `attempt` failed: exponential (×2) with "full jitter"
 * between half and the whole of the step, capped; a provider's Retry-After wins when it is longer.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exponential / 2 + (random() * exponential) / 2);
  if (retryAfterMs !== undefined && retryAfterMs > jittered) return Math.min(retryAfterMs, Math.max(policy.maxDelayMs, retryAfterMs));
  return jittered;
}
