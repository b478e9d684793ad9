/** The API's shapes (API.md), as the console reads them. */
export type Role = 'admin' | 'editor' | 'operator' | 'viewer';
export interface Me {
  orgId: string;
  keyId: string;
  name: string;
  role: Role;
}

export type AttributeType = 'string' | 'number' | 'integer' | 'boolean' | 'date' | 'datetime' | 'enum' | 'json';
export interface Attribute {
  key: string;
  type: AttributeType;
  required?: boolean;
  default?: unknown;
  values?: string[];
}
export interface Status {
  key: string;
  name?: string;
  initial?: boolean;
}
export interface Requirement {
  key: string;
  condition: string;
  message: string;
  enforce?: boolean;
}
export interface Transition {
  from: string[];
  to: string;
  when?: string[];
  whenFailing?: string[];
  auto?: boolean;
}
export interface EntityType {
  key: string;
  name: string;
  version?: number;
  attributes: Attribute[];
  statuses: Status[];
  requirements: Requirement[];
  transitions: Transition[];
  createdAt?: string;
  updatedAt?: string;
}

export interface RequirementResult {
  key: string;
  passed: boolean;
  message: string;
  enforce?: boolean;
  error?: { code: string; message: string };
}
export interface Entity {
  id: string;
  type: string;
  status: string;
  version: number;
  attributes: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  requirements?: RequirementResult[];
  statusPath?: string[];
  queuedRuns?: { id: string; process: string }[];
}
export interface EntityEvent {
  id?: string;
  at?: string;
  createdAt?: string;
  statusBefore?: string | null;
  statusAfter?: string | null;
  fromStatus?: string | null;
  toStatus?: string | null;
  changes?: Record<string, unknown>;
  changed?: Record<string, unknown>;
  actor?: unknown;
  cause?: unknown;
  [k: string]: unknown;
}
export interface Link {
  connection: string;
  provider: string;
  externalType: string;
  externalId: string;
  url: string | null;
  createdAt: string;
  updatedAt: string;
  runId: string | null;
}

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';
export interface Failure {
  code: string;
  message: string;
  retryable?: boolean;
  retryAfterMs?: number;
  details?: unknown;
}
export interface Step {
  task: string;
  status: string;
  attempts?: number;
  input?: unknown;
  output?: unknown;
  error?: Failure | null;
  note?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
}
export interface Run {
  id: string | null;
  process: string;
  processVersion: number;
  entityId: string;
  entityType: string;
  status: RunStatus | 'evaluated';
  dryRun?: boolean;
  trigger: { type: string; status?: string | null; batchId?: string | null; actor?: string | null };
  attempt: number;
  cancelRequested?: boolean;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: Failure | null;
  steps?: Step[];
}

export interface Task {
  key: string;
  kind: string;
  connection?: string;
  when?: string;
  input: Record<string, unknown>;
}
export interface ProcessSettings {
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number };
  timeoutMs?: number;
  concurrency?: number;
}
export interface Process {
  key: string;
  name: string;
  entityType: string;
  trigger: { status?: string; manual?: boolean };
  enabled: boolean;
  settings?: ProcessSettings;
  tasks: Task[];
  version: number;
  createdAt?: string;
  updatedAt?: string;
  runs?: Partial<Record<RunStatus, number>>;
  lastFailure?: LastFailure | null;
}
export interface ProcessVersion {
  version: number;
  createdAt: string;
  definition?: Omit<Process, 'key' | 'version'>;
  [k: string]: unknown;
}

export interface Connection {
  key: string;
  provider: 'hubspot' | 'dropbox' | 'http';
  name?: string;
  config?: Record<string, unknown>;
  secrets?: Record<string, string>;
  createdAt?: string;
  updatedAt?: string;
}

/** The newest failed run of a process (GET /processes `lastFailure`). */
export interface LastFailure {
  runId: string;
  code: string | null;
  message: string | null;
  at: string;
}

/** GET /connections/{key}: the limit in force and the provider's recent 429s. */
export interface ConnectionDetail extends Connection {
  rateLimit: { requests: number; perMs: number; from: 'config' | 'provider default' } | null;
  recent429s: { at: string; retryAfterMs: number | null }[];
}

/** The set a batch runs over (API.md "Batches"). */
export interface BatchFilter {
  status?: string[];
  where?: string;
  ids?: string[];
  linked?: { connection: string; exists: boolean };
  updatedAfter?: string;
  updatedBefore?: string;
}
export type BatchStatus = 'running' | 'paused' | 'cancelled' | 'completed';
export interface Batch {
  id: string;
  process: string;
  entityType?: string;
  filter: BatchFilter;
  status: BatchStatus;
  total: number;
  /** Items not handed to a run yet (the server queues runs as the process's concurrency allows). */
  pending?: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
  createdAt: string;
  createdBy?: string | { type?: string; id?: string; name?: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
  etaSeconds: number | null;
}
export interface BatchItem {
  entityId: string;
  runId: string | null;
  status: string;
  error: Failure | null;
}
export interface BatchPreview {
  total: number;
  sample: Entity[];
}
