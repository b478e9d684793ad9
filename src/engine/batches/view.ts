/** A batch as the API and the stream show it. */
import { etaSeconds } from '../../domain/batch.js';
import type { Batch } from '../../store/batches.js';

/** A batch as the API shows it. */
export function batchView(b: Batch) {
  const remaining = b.pending + b.queued + b.running;
  return {
    id: b.id,
    process: b.process,
    processVersion: b.processVersion,
    entityType: b.entityType,
    filter: b.filter,
    status: b.status,
    total: b.total,
    pending: b.pending,
    queued: b.queued,
    running: b.running,
    succeeded: b.succeeded,
    failed: b.failed,
    skipped: b.skipped,
    cancelled: b.cancelled,
    createdAt: b.createdAt,
    createdBy: b.createdBy,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
    etaSeconds: b.status === 'running' ? etaSeconds(remaining, b.rate) : b.status === 'paused' ? null : 0,
  };
}

export type BatchView = ReturnType<typeof batchView>;
