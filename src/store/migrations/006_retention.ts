/**
 * Retention (issue 15): runs a user pinned are never pruned, and finished runs can be found per process
 * by when they finished. The index is partial: a run is indexed only once it has finished, so a save
 * that queues a run pays nothing for it; a run's finish adds one entry.
 */
const shared = (bool: string, no: string) => `
ALTER TABLE runs ADD COLUMN pinned ${bool} NOT NULL DEFAULT ${no};
-- the pruner keeps the newest N finished runs of each process (STATUSFLOW_RETAIN_RUNS_PER_PROCESS)
CREATE INDEX runs_process_finished ON runs (org_id, process, finished_at) WHERE finished_at IS NOT NULL;
`;

export const migration = {
  id: 6,
  name: 'retention',
  sqlite: shared('INTEGER', '0'),
  postgres: shared('BOOLEAN', 'FALSE'),
};
