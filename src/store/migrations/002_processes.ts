/**
 * Process definitions (versioned), runs (the queue) and their steps. JSON is kept as TEXT here on both
 * databases: step inputs and outputs hold whatever providers answered (Postgres jsonb refuses U+0000).
 */
const shared = (ts: string, bool: string) => `
CREATE TABLE processes (
  org_id TEXT NOT NULL,
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  entity_type TEXT NOT NULL,
  trigger_status TEXT,
  enabled ${bool} NOT NULL,
  definition TEXT NOT NULL,
  created_at ${ts} NOT NULL,
  updated_at ${ts} NOT NULL,
  PRIMARY KEY (org_id, key)
);
-- the save pipeline looks up the processes a status triggers
CREATE INDEX processes_trigger ON processes (org_id, entity_type, trigger_status);

CREATE TABLE process_versions (
  org_id TEXT NOT NULL,
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  definition TEXT NOT NULL,
  created_at ${ts} NOT NULL,
  PRIMARY KEY (org_id, key, version)
);

CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  process TEXT NOT NULL,
  process_version INTEGER NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  status TEXT NOT NULL,
  trigger TEXT NOT NULL,
  -- makes a start permanently idempotent: (process, entity, triggering event) for status triggers
  dedupe_key TEXT UNIQUE,
  cause_run_id TEXT,
  chain TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  step_index INTEGER NOT NULL,
  available_at BIGINT NOT NULL,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  cancel_requested ${bool} NOT NULL,
  batch_id TEXT,
  error TEXT,
  queued_at ${ts} NOT NULL,
  started_at ${ts},
  finished_at ${ts}
);
-- workers claim by status and due time, across organizations
CREATE INDEX runs_claim ON runs (status, available_at);
CREATE INDEX runs_org_time ON runs (org_id, id);
CREATE INDEX runs_org_process ON runs (org_id, process, status);
CREATE INDEX runs_org_entity ON runs (org_id, entity_id, id);

CREATE TABLE run_steps (
  run_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  task TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  input TEXT,
  output TEXT,
  error TEXT,
  started_at ${ts},
  finished_at ${ts},
  PRIMARY KEY (run_id, idx)
);

-- saves made by a process task carry "<run id>:<task key>": a step repeated after a crash finds the
-- save it already made instead of saving twice
ALTER TABLE entity_events ADD COLUMN cause_key TEXT;
CREATE UNIQUE INDEX entity_events_cause ON entity_events (org_id, cause_key);
`;

export const migration = {
  id: 2,
  name: 'processes',
  sqlite: shared('TEXT', 'INTEGER'),
  postgres: shared('TIMESTAMPTZ', 'BOOLEAN'),
};
