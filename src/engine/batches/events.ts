/**
 * `batch.updated` on the bus (and so on GET /stream, and to the other processes on Postgres through the
 * event relay). The actions publish at once; progress is published by the feeder at most once per tick
 * per batch, and only when something changed — a few per second per batch at most, and always one
 * when the batch ends.
 */
import type { Batch } from '../../store/batches.js';
import type { Services } from '../services.js';
import { batchView } from './view.js';

export function publishBatch(services: Services, batch: Batch): void {
  services.bus.publish({ type: 'batch.updated', orgId: batch.orgId, data: batchView(batch) });
}

/** What a batch's progress looks like, to tell whether anything changed since the last event. */
export function progressKey(b: Batch): string {
  return [b.status, b.pending, b.queued, b.running, b.succeeded, b.failed, b.skipped, b.cancelled].join(':');
}
