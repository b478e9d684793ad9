/** Lease bookkeeping of a worker: heartbeat, hand-back on shutdown, cancellation checks. */
import { renewLeases } from '../../store/run-claims.js';
import type { Services } from '../services.js';

export async function renewLeasesOf(services: Services, owner: string, ids: string[], leaseMs: number): Promise<void> {
  await renewLeases(services.database.db, services.database.dialect, owner, ids, Date.now() + leaseMs);
}

/** Hands every run this worker still holds back to the queue, due now, to resume after its last step. */
export async function releaseLeases(services: Services, owner: string): Promise<void> {
  await services.database.db
    .updateTable('runs')
    .set({ status: 'queued', lease_owner: null, lease_expires_at: null, available_at: Date.now() })
    .where('lease_owner', '=', owner)
    .where('status', '=', 'running')
    .execute();
}

export async function isCancelRequested(services: Services, runId: string): Promise<boolean> {
  const row = await services.database.db.selectFrom('runs').select('cancel_requested').where('id', '=', runId).executeTakeFirst();
  return Boolean(row?.cancel_requested);
}
