/** A run row to insert straight into the store (insertRuns), for tests that set up the queue by hand. */
import { newId } from '../../src/domain/ids.js';
import type { NewRun } from '../../src/store/runs.js';

/** A queued manual run of `orgId`, due now; `over` sets any other field (process, entity, availableAt…). */
export function newRunRow(orgId: string, over: Partial<NewRun> = {}): NewRun {
  const availableAt = over.availableAt ?? Date.now();
  return {
    id: newId(),
    orgId,
    process: 'p',
    processVersion: 1,
    entityType: 'order',
    entityId: newId(),
    trigger: { type: 'manual' },
    dedupeKey: null,
    causeRunId: null,
    chain: [],
    batchId: null,
    availableAt,
    queuedAt: new Date(availableAt).toISOString(),
    ...over,
  };
}
