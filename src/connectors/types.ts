/**
 * A task kind is plain data plus one function (STYLE.md): `{ kind, inputSchema, expressionFields, run }`.
 * Task kinds never retry by themselves: they return an output or throw a TaskFailure; the engine decides.
 */
import type { ZodType } from 'zod';
import type { TaskKindSpec } from '../domain/process.js';

export interface EntityView {
  id: string;
  type: string;
  status: string;
  version: number;
  attributes: Record<string, unknown>;
}

export interface EntitySaveOutcome {
  entity: EntityView;
  statusPath: string[];
  queuedRuns: Array<{ id: string; process: string }>;
}

/** What the engine lends a running task. */
export interface TaskContext {
  orgId: string;
  runId: string;
  taskKey: string;
  /** `<run id>:<task key>`: the same on every attempt of this step, so providers can deduplicate. */
  idempotencyKey: string;
  /** Aborted when the step's time limit passes or the worker shuts down. */
  signal: AbortSignal;
  /** The run's entity as it was when the step started. */
  entity: EntityView;
  /** Saves through the full save pipeline, caused by this run (loop protection applies). */
  entities: {
    update(change: { attributes?: Record<string, unknown>; status?: string }): Promise<EntitySaveOutcome>;
    create(type: string, body: { attributes?: Record<string, unknown>; status?: string }): Promise<EntitySaveOutcome>;
  };
  /** Present when the task has a `connection`. */
  connection?: ConnectionContext;
}

/** A connection as a task sees it: settings and decrypted secrets (never logged, never in step data). */
export interface ConnectionView {
  key: string;
  provider: ProviderName;
  name: string;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
}

export type ProviderName = 'hubspot' | 'dropbox' | 'http';

/** A kept link: entity → record in a provider. */
export interface LinkView {
  entityId: string;
  connection: string;
  provider: string;
  externalType: string;
  externalId: string;
  url: string | null;
}

/** What the engine lends a task that talks to a provider through a connection. */
export interface ConnectionContext {
  connection: ConnectionView;
  /**
   * Waits for a slot of the connection's rate limit, shared by every worker and process (a sliding
   * window in the database). Call it before every request to the provider.
   */
  acquire(signal?: AbortSignal): Promise<void>;
  /**
   * The request of the last slot taken was answered: the slot then counts from now, not from when it
   * was taken, so the provider's own rolling window (which counts arrivals) can never see too many.
   */
  settle?(): Promise<void>;
  /**
   * The provider said to slow down: no slot is handed out for `ms` (0: no pause). `why` is `'429'` (the
   * default: it answered 429, which the connection's recent 429s keep) or `'window-spent'` (it reported
   * its window used up, without refusing anything).
   */
  backOff(ms: number, why?: '429' | 'window-spent'): Promise<void>;
  /** State kept in memory per connection for this process (e.g. a short-lived access token). */
  memo: Map<string, unknown>;
  links: {
    /** The link of `entityId` (default: the run's entity) to `externalType` through this connection. */
    get(externalType: string, entityId?: string): Promise<LinkView | undefined>;
    /** Creates or updates the link (its updatedAt and the run id are set by the engine). */
    put(link: { externalType: string; externalId: string; url?: string | null; entityId?: string }): Promise<void>;
  };
}

/** A provider: its connection settings and how to check credentials (`POST /connections/{key}/test`). */
export interface Provider {
  name: ProviderName;
  /** zod schemas of `config` and `secrets` (strict). */
  configSchema: ZodType;
  secretsSchema: ZodType;
  /** Checks the credentials with one cheap request; throws a TaskFailure when they do not work. */
  test(ctx: ConnectionContext, signal: AbortSignal): Promise<void>;
}

export interface TaskKind<I = Record<string, unknown>> extends TaskKindSpec {
  /** Runs the step with its input evaluated (expressions replaced by their values). Returns the output (JSON). */
  run(input: I, ctx: TaskContext): Promise<unknown>;
  /** Optional: steps of this kind that are ready at about the same time may share one provider call (docs/provider-batching.md). */
  batch?: TaskBatching<I>;
}

/**
 * The `batchable` capability of a task kind (docs/provider-batching.md): the executor gathers the steps
 * whose `plan` gives the same group key while a call for that key is in flight, and sends them together
 * through `runMany`, at most `maxSize` at a time. A lone step goes out at once.
 */
export interface TaskBatching<I = Record<string, unknown>> {
  /** Most steps in one call (HubSpot's batch endpoints: 100). */
  maxSize: number;
  /**
   * Most calls of one group key in flight at once (default: the batcher's CALLS_IN_FLIGHT, 4). More than one goes
   * out only while a full call's worth of steps waits; each call still takes its own rate-limit slot.
   */
  maxCallsInFlight?: number;
  /**
   * Prepares one step: its group key (steps share a call only when their keys are equal — include the
   * organization, connection and anything else that must match) and what `runMany` needs; `identity`, when
   * given, keeps two steps with the same identity out of one call (providers refuse duplicate ids).
   * Null: this step goes through `run` alone. A throw fails the step as `run` would.
   */
  plan(input: I, ctx: TaskContext): Promise<BatchPlan | null>;
  /**
   * Runs the members together. One outcome per member, in order: its output, or its own failure (a
   * refusal of one record must not fail the others). A throw gives every member that failure.
   * `signal` aborts when every member's step has been aborted.
   */
  runMany(members: ReadonlyArray<BatchMember>, signal: AbortSignal): Promise<BatchOutcome[]>;
}

export interface BatchPlan {
  key: string;
  /** Two members with the same identity never share a call. */
  identity?: string;
  /** What `runMany` gets back for this step (e.g. the record's prepared properties and link). */
  item: unknown;
}

export interface BatchMember {
  item: unknown;
  ctx: TaskContext;
}

export type BatchOutcome = { ok: true; output: unknown } | { ok: false; error: unknown };
