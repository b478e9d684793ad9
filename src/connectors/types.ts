/**
 * A task kind is plain data plus one function (STYLE.md): `{ kind, inputSchema, expressionFields, run }`.
 * Task kinds never retry by themselves: they return an output or throw a TaskFailure; the engine decides.
 */
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
}

export interface TaskKind<I = Record<string, unknown>> extends TaskKindSpec {
  /** Runs the step with its input evaluated (expressions replaced by their values). Returns the output (JSON). */
  run(input: I, ctx: TaskContext): Promise<unknown>;
}
