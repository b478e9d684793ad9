/**
 * Migration 007's trigger on runs, slimmed on SQLite. It fires twice per batch run (claim, end) and ran four
 * statements each time: the batch's counters (with the item's status read in a subquery), the item (found
 * again), then two more to end or reopen the batch, also when nothing had moved. Now:
 * - it fires only when the item's status changes (a waiting run claimed again stays a `running` item);
 * - the item moves first, from the status its run's old status means (an item and its current run agree:
 *   both are moved in one transaction from the queued run's insert on, by the feeder then by this trigger);
 * - the counters move only if the item did (`changes()`: rows of the statement just before, in a
 *   trigger's body), so they equal the items whatever happens; and the batch's status is decided in the
 *   same UPDATE, from the counters as they will be after it (a SET expression sees the row as it was).
 * The rule for the status is store/batches.ts settleBatch's: a batch whose items all ended is completed; a
 * completed one with work again (a run retried by hand) runs again. bench/batch, 20,000 orders: see the
 * commit that added this file.
 *
 * And the claim's two due-run lookups (store/run-claims.ts: live runs first, then batch runs) get partial
 * indexes of due runs only (queued or waiting): 007's runs_batch_due held every batch run whatever its
 * status, so each claim and each end moved an entry in it, and the live lookup read every queued batch run
 * (runs_claim) to find none. Now a batch run leaves the index when claimed, and its end touches no index
 * of these; the live lookup reads live runs only.
 *
 * Postgres keeps 007's statement trigger (it touches each batch once per statement already) and its indexes.
 */
const COUNTERS = ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;

/** The item status a run status means: a waiting run (backoff, delay) has started. */
const itemStatus = (runStatus: string) => `(CASE ${runStatus} WHEN 'waiting' THEN 'running' ELSE ${runStatus} END)`;
const FROM = itemStatus('OLD.status');
const TO = itemStatus('NEW.status');

/** A counter as the UPDATE leaves it, the item having moved from FROM to TO. */
const after = (c: string) => `(${c} - (CASE WHEN ${FROM} = '${c}' THEN 1 ELSE 0 END) + (CASE WHEN ${TO} = '${c}' THEN 1 ELSE 0 END))`;
const ends = `status IN ('running', 'paused') AND ${after('pending')} = 0 AND ${after('queued')} = 0 AND ${after('running')} = 0`;
const reopens = `status = 'completed' AND (${after('queued')} > 0 OR ${after('running')} > 0)`;

// migrate.ts splits statements at a `;` that ends a line, and keeps a trigger's body whole until a line
// ends with END: no statement inside the body may end with a bare END (these end with `END)` or `= 1`).
const sqlite = `DROP TRIGGER runs_batch_progress;
CREATE TRIGGER runs_batch_progress AFTER UPDATE OF status ON runs
WHEN NEW.batch_id IS NOT NULL AND ${FROM} <> ${TO}
BEGIN
  UPDATE batch_items SET status = ${TO}, error = (CASE WHEN NEW.status = 'failed' THEN NEW.error ELSE NULL END)
  WHERE batch_id = NEW.batch_id AND entity_id = NEW.entity_id AND run_id = NEW.id AND status = ${FROM};
  UPDATE batches SET
    ${COUNTERS.map((c) => `${c} = ${after(c)}`).join(',\n    ')},
    status = (CASE WHEN ${ends} THEN 'completed' WHEN ${reopens} THEN 'running' ELSE status END),
    finished_at = (CASE WHEN ${ends} THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHEN ${reopens} THEN NULL ELSE finished_at END)
  WHERE id = NEW.batch_id AND changes() = 1;
END;
DROP INDEX runs_batch_due;
CREATE INDEX runs_batch_due ON runs (status, available_at) WHERE batch_id IS NOT NULL AND status IN ('queued', 'waiting');
CREATE INDEX runs_live_due ON runs (status, available_at) WHERE batch_id IS NULL AND status IN ('queued', 'waiting');
`;

export const migration = { id: 9, name: 'batch_progress', sqlite, postgres: '' };
