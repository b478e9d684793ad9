/**
 * Which key seals this database's connection secrets — never the key itself — so that a process with
 * another key refuses to start instead of failing every run that uses a connection (issue 10, item 9).
 * One row for the whole installation (like statusflow_migrations, it belongs to no organization).
 */
const shared = `
CREATE TABLE statusflow_secret_key (
  -- always 1: one row
  id INTEGER PRIMARY KEY,
  -- HMAC-SHA256 of a fixed label under the key (engine/secrets.ts keyCheck): tells a key apart, reveals nothing of it
  key_check TEXT NOT NULL,
  -- the key's short name as the logs print it (first 8 hex of its SHA-256), for the refusal message
  fingerprint TEXT NOT NULL,
  recorded_at TEXT NOT NULL
);
`;

export const migration = {
  id: 4,
  name: 'secret_key',
  sqlite: shared,
  postgres: shared,
};
