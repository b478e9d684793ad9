/** Organizations, API keys, entity types (versioned), entities and their events. */
const shared = (ts: string, json: string) => `
CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at ${ts} NOT NULL
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id),
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'operator', 'viewer')),
  key_hash TEXT NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  created_at ${ts} NOT NULL
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

CREATE TABLE entity_types (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  definition TEXT NOT NULL,
  created_at ${ts} NOT NULL,
  updated_at ${ts} NOT NULL,
  PRIMARY KEY (org_id, key)
);

CREATE TABLE entity_type_versions (
  org_id TEXT NOT NULL,
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  definition TEXT NOT NULL,
  created_at ${ts} NOT NULL,
  PRIMARY KEY (org_id, key, version)
);

CREATE TABLE entities (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  attributes ${json} NOT NULL,
  version INTEGER NOT NULL,
  created_at ${ts} NOT NULL,
  updated_at ${ts} NOT NULL
);
-- list by type and status, newest first (ids are time-ordered)
CREATE INDEX entities_org_type_status ON entities (org_id, type, status, id);
-- list by type, newest first
CREATE INDEX entities_org_type ON entities (org_id, type, id);

CREATE TABLE entity_events (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_version INTEGER NOT NULL,
  kind TEXT NOT NULL,
  status_before TEXT,
  status_after TEXT,
  status_path TEXT NOT NULL,
  changes TEXT NOT NULL,
  actor TEXT NOT NULL,
  created_at ${ts} NOT NULL
);
CREATE INDEX entity_events_entity ON entity_events (org_id, entity_id, id);
CREATE INDEX entity_events_time ON entity_events (org_id, created_at);
`;

export const migration = {
  id: 1,
  name: 'foundation',
  sqlite: shared('TEXT', 'TEXT'),
  postgres: shared('TIMESTAMPTZ', 'JSONB'),
};
