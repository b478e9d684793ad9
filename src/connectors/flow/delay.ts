/**
 * `delay`: waits a fixed time (`ms`) or until a moment (`until`, an expression giving an ISO date-time).
 *
 * The wait is durable and belongs to the executor, not to `run`: when the step starts, the executor
 * evaluates the input's expressions, calls `delayUntil(input, startedAtMs)` and parks the run in the
 * database until that time (no worker is held, a restart loses nothing); when it is due it calls `run`,
 * which only reports what was waited for.
 */
import { z } from 'zod';
import { failure } from '../../domain/failure.js';
import { PROCESS_LIMITS } from '../../domain/process.js';
import type { TaskKind } from '../types.js';

/** Longest `ms` (one day) and furthest `until` (366 days after the step started). */
export const DELAY_LIMITS = { ms: PROCESS_LIMITS.delayMs, untilMs: 366 * 86_400_000 } as const;

export const DelayInputSchema = z
  .strictObject({
    ms: z.number().int().min(0).max(DELAY_LIMITS.ms).optional(),
    /** Expression giving an ISO 8601 date-time (e.g. `entity.follow_up_at`). */
    until: z.string().min(1).max(10_000).optional(),
  })
  .superRefine((i, ctx) => {
    if (i.ms === undefined && i.until === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'needs ms or until', params: { code: 'required' } });
    if (i.ms !== undefined && i.until !== undefined) ctx.addIssue({ code: 'custom', path: ['until'], message: 'cannot be given together with ms', params: { code: 'conflict' } });
  });

export interface DelayInput {
  ms?: number;
  /** Evaluated: should be an ISO 8601 date-time string. */
  until?: unknown;
}

export type DelayOutput = { waitedMs: number } | { until: string };

/**
 * Epoch milliseconds until which the step waits (≤ startedAtMs means: do not wait). Throws a
 * non-retryable INVALID_INPUT failure when `until` is not a date-time or is more than 366 days away.
 */
export function delayUntil(input: DelayInput, startedAtMs: number): number {
  if (input.ms !== undefined) return startedAtMs + input.ms;
  return untilMs(input.until, startedAtMs);
}

function untilMs(value: unknown, startedAtMs: number): number {
  // Date-only strings ("2025-01-31") are accepted and mean midnight UTC.
  const at = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}([Tt ]|$)/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) {
    const got = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 100);
    throw failure('INVALID_INPUT', `until must evaluate to an ISO 8601 date-time, got ${got}`, false);
  }
  if (at - startedAtMs > DELAY_LIMITS.untilMs) {
    throw failure('INVALID_INPUT', `until (${new Date(at).toISOString()}) is more than 366 days away`, false);
  }
  return at;
}

export const delay: TaskKind<DelayInput> = {
  kind: 'delay',
  inputSchema: DelayInputSchema,
  expressionFields: ['until'],
  async run(input): Promise<DelayOutput> {
    if (input.ms !== undefined) return { waitedMs: input.ms };
    return { until: new Date(untilMs(input.until, Date.now())).toISOString() };
  },
};
