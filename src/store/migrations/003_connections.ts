/**
 * Connections (credentials encrypted at rest), links (entity → external record) and the shared
 * sliding-window rate limit (one row per request handed a slot, plus pauses asked by providers).
 */
const shared = (ts: string) => `
CREATE TABLE connections (
  org_id TEXT NOT NULL,
  key TEXT NOT NULL,
  provider TEXT NOT NULL,
  name TEXT NOT NULL,
  config TEXT NOT NULL,
  -- "v1:<iv>:<tag>:<ciphertext>" (AES-256-GCM), never the plain secrets
  secrets TEXT NOT NULL,
  -- JSON array of the secret field names, so lists can say which are set without decrypting
  secret_names TEXT NOT NULL,
  created_at ${ts} NOT NULL,
  updated_at ${ts} NOT NULL,
  PRIMARY KEY (org_id, key)
);

CREATE TABLE links (
  org_id TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  connection TEXT NOT NULL,
  provider TEXT NOT NULL,
  external_type TEXT NOT NULL,
  external_id TEXT NOT NULL,
  url TEXT,
  run_id TEXT,
  created_at ${ts} NOT NULL,
  updated_at ${ts} NOT NULL,
  PRIMARY KEY (org_id, entity_id, connection, external_type)
);
-- "which entity is linked to this external record?" and batch filters on linked/not linked
CREATE INDEX links_external ON links (org_id, connection, external_type, external_id);

-- one row per slot handed out; rows older than the connection's window are pruned
CREATE TABLE rate_limit_events (
  org_id TEXT NOT NULL,
  connection TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX rate_limit_events_window ON rate_limit_events (org_id, connection, at);

-- the provider asked us to slow down (429 + Retry-After): no slot before paused_until (epoch ms)
CREATE TABLE rate_limit_pauses (
  org_id TEXT NOT NULL,
  connection TEXT NOT NULL,
  paused_until BIGINT NOT NULL,
  PRIMARY KEY (org_id, connection)
);
`;

export const migration = {
  id: 3,
  name: 'connections',
  sqlite: shared('TEXT'),
  postgres: shared('TIMESTAMPTZ'),
};
