/** A batch's filter (API.md "Batches"): which entities of the process's type it runs over. Pure. */
import { z } from 'zod';

/** Most ids a filter may list; larger sets are chosen by the other filters. */
export const MAX_BATCH_IDS = 10_000;

const key = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a key');
const instant = z.iso.datetime({ offset: true });

export const BatchFilterSchema = z.strictObject({
  status: z.array(key).min(1).max(100).optional(),
  where: z.string().min(1).max(10_000).optional(),
  ids: z.array(z.string().min(1).max(100)).min(1).max(MAX_BATCH_IDS).optional(),
  linked: z.strictObject({ connection: key, exists: z.boolean() }).optional(),
  updatedAfter: instant.optional(),
  updatedBefore: instant.optional(),
});

export type BatchFilter = z.infer<typeof BatchFilterSchema>;

/** The body of POST /batches and /batches/preview. `entityType`, when given, must be the process's. */
export const BatchRequestSchema = z.strictObject({
  process: key,
  entityType: key.optional(),
  filter: BatchFilterSchema.default({}),
});

export type BatchRequest = z.infer<typeof BatchRequestSchema>;

export type BatchStatus = 'preparing' | 'running' | 'paused' | 'cancelled' | 'completed';
export type BatchItemStatus = 'pending' | 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export const BATCH_ITEM_STATUSES: readonly BatchItemStatus[] = ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'];

/** Batches that will not change any more by themselves (pause, resume and cancel refuse them). */
export const isBatchFinished = (s: BatchStatus) => s === 'completed' || s === 'cancelled';

/**
 * Runs of one batch queued or running at once: the process's concurrency less a tenth of it (at least
 * one slot) kept for live, status-triggered runs of the same process.
 */
export function batchWindow(concurrency: number): number {
  return Math.max(1, concurrency - Math.ceil(concurrency / 10));
}

/**
 * Seconds left at the recent rate (items ended between two samples), or null while unknown.
 */
export function etaSeconds(remaining: number, sample: { at: number | null; done: number | null; prevAt: number | null; prevDone: number | null }): number | null {
  if (remaining === 0) return 0;
  if (sample.at === null || sample.prevAt === null || sample.done === null || sample.prevDone === null) return null;
  const ended = sample.done - sample.prevDone;
  const ms = sample.at - sample.prevAt;
  if (ended <= 0 || ms <= 0) return null;
  return Math.ceil((remaining * ms) / ended / 1000);
}
