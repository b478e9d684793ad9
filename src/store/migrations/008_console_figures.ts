/**
 * What the console shows beside lists (issue 14): the provider's recent 429 answers per connection, and
 * an index for each process's last failure. Numbered 8: 7 is the batches migration, written alongside.
 *
 * `rate_limit_answers` keeps at most the newest 20 rows per connection (the store prunes on insert),
 * so it stays a few rows whatever the traffic. `runs_process_failed` is partial: only failed runs are
 * indexed, so saving and finishing other runs pays nothing for it.
 */
const shared = `
-- a provider answered 429: when (epoch ms) and the Retry-After it asked for (ms; NULL when it gave none)
CREATE TABLE rate_limit_answers (
  org_id TEXT NOT NULL,
  connection TEXT NOT NULL,
  at BIGINT NOT NULL,
  retry_after_ms BIGINT
);
CREATE INDEX rate_limit_answers_recent ON rate_limit_answers (org_id, connection, at);
-- the latest failed run of each process (GET /api/v1/processes "lastFailure")
CREATE INDEX runs_process_failed ON runs (org_id, process, finished_at) WHERE status = 'failed';
`;

export const migration = {
  id: 8,
  name: 'console_figures',
  sqlite: shared,
  postgres: shared,
};
