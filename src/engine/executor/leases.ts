/** Lease bookkeeping of a worker: heartbeat, hand-back on shutdown, cancellation checks (store/run-moves.ts). */
import { isCancelRequested as cancelRequested, releaseOwned, renewOwnedLeases } from '../../store/run-moves.js';
import type { Services } from '../services.js';

export async function renewLeasesOf(services: Services, owner: string, ids: string[], leaseMs: number): Promise<void> {
  await renewOwnedLeases(services.database.db, owner, ids, services.clock.now() + leaseMs);
}

/** Hands every run this worker still holds back to the queue, due now, to resume after its last step. */
export async function releaseLeases(services: Services, owner: string): Promise<void> {
  await releaseOwned(services.database.db, owner, services.clock.now());
}

/** Whether a cancel was requested for the run (looked up within its own organization). */
export async function isCancelRequested(services: Services, orgId: string, runId: string): Promise<boolean> {
  return cancelRequested(services.database.db, orgId, runId);
}
