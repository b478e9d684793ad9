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
  /** `<run id>:<task key>` when a process task made this save (unique per organization). */
  cause_key: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ProcessesTable {
  org_id: string;
  key: string;
  version: number;
  entity_type: string;
  /** Status whose entry starts a run; null for manual-only processes. */
  trigger_status: string | null;
  /** SQLite gives 0/1, Postgres a boolean. */
  enabled: ColumnType<boolean | number, boolean | number, boolean | number>;
  definition: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ProcessVersionsTable {
  org_id: string;
  key: string;
  version: number;
  definition: string;
  created_at: Timestamp;
}

/** Postgres BIGINT comes back as a number (see db.ts), SQLite INTEGER too. */
type Millis = ColumnType<number, number, number>;

export interface RunsTable {
  id: string;
  org_id: string;
  process: string;
  /** The process version this run is pinned to. */
  process_version: number;
  entity_type: string;
  entity_id: string;
  /** queued | running | waiting | succeeded | failed | cancelled */
  status: string;
  /** JSON: { type: status|manual|batch|retry, status?, batchId?, actor? } */
  trigger: string;
  /** Unique start key (process, entity, triggering event): a start can never happen twice. */
  dedupe_key: string | null;
  /** The run whose save queued this one (loop protection). */
  cause_run_id: string | null;
  /** JSON: [[process, entityId], …] of the runs that led here, oldest first (never longer than the depth limit). */
  chain: string;
  /** Runs before this one in its cause chain (0: no process caused it). */
  depth: ColumnType<number, number | undefined, number>;
  /** The first run of the cause chain (a root run names itself): the fan-out bound counts by it. */
  root_run_id: string | null;
  /** Attempt of the current step (1-based); 0 before the first. */
  attempt: number;
  /** Index of the next task to run; tasks before it are checkpointed in run_steps. */
  step_index: number;
  /** Epoch ms when the run may be claimed (backoff and delays push it forward). */
  available_at: Millis;
  /** Worker holding the run while it is `running`. */
  lease_owner: string | null;
  /** Epoch ms when the lease lapses; another worker may then resume the run. */
  lease_expires_at: Millis | null;
  cancel_requested: ColumnType<boolean | number, boolean | number, boolean | number>;
  batch_id: string | null;
  /** A user pinned the run: retention never deletes it (migration 006; defaults to false). */
  pinned: ColumnType<boolean | number, boolean | number | undefined, boolean | number>;
  /** JSON Failure of a failed run. */
  error: string | null;
  queued_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export interface RunStepsTable {
  run_id: string;
  org_id: string;
  /** Position of the task in the process version. */
  idx: number;
  task: string;
  /** running | succeeded | failed | skipped | waiting */
  status: string;
  attempts: number;
  /** JSON: evaluated input; output; Failure. */
  input: string | null;
  output: string | null;
  error: string | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export interface ConnectionsTable {
  org_id: string;
  key: string;
  /** hubspot | dropbox | http */
  provider: string;
  name: string;
  /** JSON: the provider's settings (base URLs, rate limit…); never secret. */
  config: string;
  /** `v1:<iv>:<tag>:<ciphertext>` (AES-256-GCM of the secrets' JSON); see engine/secrets.ts. */
  secrets: string;
  /** JSON array: names of the secret fields (shown as "set"; the values never leave the engine). */
  secret_names: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface LinksTable {
  org_id: string;
  entity_id: string;
  entity_type: string;
  /** Connection key. */
  connection: string;
  provider: string;
  /** The provider's kind of record, e.g. `deals`, `file`. */
  external_type: string;
  external_id: string;
  url: string | null;
  /** The run that last wrote the link. */
  run_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RateLimitEventsTable {
  org_id: string;
  connection: string;
  /** Epoch ms when a slot was handed out. */
  at: Millis;
}

export interface RateLimitPausesTable {
  org_id: string;
  connection: string;
  /** Epoch ms before which no slot is handed out. */
  paused_until: Millis;
}

export interface BatchesTable {
  id: string;
  org_id: string;
  process: string;
  /** The process version every run of the batch is pinned to (the current one at creation). */
  process_version: number;
  entity_type: string;
  /** JSON: the filter as given (statuses, where, ids, linked, updatedAfter/Before). */
  filter: string;
  /** preparing | running | paused | cancelled | completed */
  status: string;
  /** Items in the batch (fixed at creation). */
  total: number;
  /** Items by status, kept incrementally (migration 007's trigger and the feeder). */
  pending: ColumnType<number, number | undefined, number>;
  queued: ColumnType<number, number | undefined, number>;
  running: ColumnType<number, number | undefined, number>;
  succeeded: ColumnType<number, number | undefined, number>;
  failed: ColumnType<number, number | undefined, number>;
  skipped: ColumnType<number, number | undefined, number>;
  cancelled: ColumnType<number, number | undefined, number>;
  /** JSON actor: { type, id, name } of the API key that created it. */
  created_by: string;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  /** Ended items at two recent moments (epoch ms), for etaSeconds. */
  rate_at: Millis | null;
  rate_done: number | null;
  rate_prev_at: Millis | null;
  rate_prev_done: number | null;
}

export interface BatchItemsTable {
  batch_id: string;
  /** Selection order: the feeder's keyset. */
  seq: number;
  org_id: string;
  entity_id: string;
  /** pending | queued | running | succeeded | failed | skipped | cancelled */
  status: string;
  /** The item's current run; null while pending. */
  run_id: string | null;
  /** Runs created for the item so far. */
  attempts: ColumnType<number, number | undefined, number>;
  /** JSON Failure of a failed item (its run's error). */
  error: string | null;
}

/** A provider's 429 answer on a connection (migration 008; the newest 20 per connection are kept). */
export interface RateLimitAnswersTable {
  org_id: string;
  connection: string;
  /** Epoch ms of the answer. */
  at: Millis;
  /** The wait it asked for (Retry-After), ms; null when it named none. */
  retry_after_ms: Millis | null;
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
  processes: ProcessesTable;
  process_versions: ProcessVersionsTable;
  runs: RunsTable;
  run_steps: RunStepsTable;
  connections: ConnectionsTable;
  links: LinksTable;
  rate_limit_events: RateLimitEventsTable;
  rate_limit_pauses: RateLimitPausesTable;
  rate_limit_answers: RateLimitAnswersTable;
  batches: BatchesTable;
  batch_items: BatchItemsTable;
  statusflow_migrations: MigrationsTable;
}

