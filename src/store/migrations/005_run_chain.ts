/**
 * Runs carry their cause chain in constant size (issue 10, item 4): `depth` (runs before this one in
 * its chain; 0 for a run no process caused) and `root_run_id` (the first run of the chain; a root run
 * names itself). Descendants of one root are counted through the index to bound a chain's fan-out.
 * `chain` stays for the same-process/entity re-entry check, but a run no longer gets one longer than
 * the depth limit (STATUSFLOW_CHAIN_DEPTH_LIMIT, at most 100).
 *
 * Existing rows: the depth is the length of the stored chain, the root is found by walking
 * cause_run_id up (a cause that was deleted makes its child the root), and chains deeper than any
 * allowed depth are emptied — such runs are refused at their next save by the depth check anyway,
 * and the one measured runaway kept 126 MB in them.
 */
const shared = (arrayLength: string) => `
ALTER TABLE runs ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN root_run_id TEXT;
UPDATE runs SET depth = ${arrayLength};
WITH RECURSIVE tree (id, root) AS (
  SELECT id, id FROM runs WHERE cause_run_id IS NULL OR cause_run_id NOT IN (SELECT id FROM runs)
  UNION ALL
  SELECT r.id, tree.root FROM runs r JOIN tree ON r.cause_run_id = tree.id
)
UPDATE runs SET root_run_id = tree.root FROM tree WHERE tree.id = runs.id;
UPDATE runs SET root_run_id = id WHERE root_run_id IS NULL;
UPDATE runs SET chain = '[]' WHERE depth > 100;
-- the fan-out check counts a root's runs at every save a run of that chain makes
CREATE INDEX runs_root ON runs (root_run_id);
`;

export const migration = {
  id: 5,
  name: 'run_chain',
  sqlite: shared('json_array_length(chain)'),
  postgres: shared('json_array_length(chain::json)'),
};
