/** Row shapes as Kysely sees them. Timestamps are ISO strings (SQLite TEXT, Postgres timestamptz). */
import type { ColumnType } from 'kysely';

/** Postgres returns Date for timestamptz, SQLite the stored string; both accept ISO strings on write. */
type Timestamp = ColumnType<string | Date, string, string>;
/** SQLite returns the JSON text, Postgres (jsonb) the parsed value; both accept JSON text on write. */
type Json = ColumnType<unknown, string, string>;

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: Timestamp;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  role: string;
  /** sha256 of the key, hex; the key itself is never stored. */
  key_hash: string;
  /** First characters of the key, shown in lists so people can tell keys apart. */
  key_prefix: string;
  created_at: Timestamp;
}

export interface EntityTypesTable {
  org_id: string;
  key: string;
  /** Increases on every replace; saves check it has not moved under them. */
  version: number;
  /** The normalised definition as JSON text. */
  definition: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EntityTypeVersionsTable {
  org_id: string;
  key: string;
  version: number;
  definition: string;
  created_at: Timestamp;
}

export interface EntitiesTable {
  id: string;
  org_id: string;
  type: string;
  status: string;
  attributes: Json;
  /** Optimistic concurrency: +1 on every save. */
  version: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EntityEventsTable {
  id: string;
  org_id: string;
  entity_id: string;
  entity_type: string;
  /** The entity version this save produced (deletes: the last version). */
  entity_version: number;
  /** created | updated | deleted */
  kind: string;
  status_before: string | null;
  status_after: string | null;
  /** JSON: statuses this save went through. */
  status_path: string;
  /** JSON: { key: { from, to } } for changed attributes. */
  changes: string;
  /** JSON: { type: 'api_key', id, name } or { type: 'run', id } … */
  actor: string;
  created_at: Timestamp;
}

export interface MigrationsTable {
  id: number;
  name: string;
  applied_at: string;
}

export interface Tables {
  organizations: OrganizationsTable;
  api_keys: ApiKeysTable;
  entity_types: EntityTypesTable;
  entity_type_versions: EntityTypeVersionsTable;
  entities: EntitiesTable;
  entity_events: EntityEventsTable;
  statusflow_migrations: MigrationsTable;
}

