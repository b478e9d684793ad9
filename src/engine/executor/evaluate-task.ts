/**
 * A task's `when` and input mappings, evaluated in one round trip to the expression workers. The one
 * evaluation a real run (run-run.ts) and a dry run (preview.ts) share, so that what a dry run shows is
 * what the real run would send: the same context, the same skip rule, the same expression failures.
 */
import type { Failure } from '../../domain/failure.js';
import { taskExpressions, type TaskDef, type TaskKindSpec } from '../../domain/process.js';
import type { EntityView } from '../../connectors/types.js';
import type { Evaluator } from '../../expr/index.js';
import type { RunTrigger } from '../../store/runs.js';
import { expressionFailure } from '../expressions.js';

/** What the evaluation decided: skip the task, fail it, or run it with this input. */
export type TaskEvaluation =
  | { kind: 'skip' }
  | { kind: 'failed'; failure: Failure }
  | { kind: 'input'; input: Record<string, unknown> };

/** The `run` object expressions see (`run.id` is null and `run.dryRun` true in a dry run). */
export interface RunContext {
  id: string | null;
  process: string;
  attempt: number;
  trigger: RunTrigger;
  dryRun?: true;
}

export interface EvaluateTaskRequest {
  evaluator: Evaluator;
  /** The organization whose share of the expression workers is used. */
  org: string;
  task: TaskDef;
  kind: TaskKindSpec;
  entity: EntityView;
  outputs: Record<string, { output: unknown; status?: string }>;
  run: RunContext;
  /** The time expressions see as `now` (ms since the epoch): the engine's clock (Services.clock). */
  now: number;
}

/** The expression sources of a task, in evaluation order: `when` first (if any), then each input mapping. */
export function taskSources(task: TaskDef, kind: TaskKindSpec): { exprs: Array<[string, string]>; sources: string[] } {
  const exprs = taskExpressions(task, kind);
  return { exprs, sources: [...(task.when ? [task.when] : []), ...exprs.map(([, source]) => source)] };
}

/**
 * Evaluates `when` and every input mapping. A task whose `when` is not true is skipped, even when its
 * input could not be evaluated; otherwise the first expression that fails fails the task.
 */
export async function evaluateTask(r: EvaluateTaskRequest): Promise<TaskEvaluation> {
  const { task } = r;
  const { exprs, sources } = taskSources(task, r.kind);
  const context = expressionContext(r.entity, r.outputs, r.run, r.now);
  const values = sources.length > 0 ? await r.evaluator.evaluateMany(sources, context, { org: r.org }) : [];
  const whenValue = task.when ? values[0]! : undefined;
  if (whenValue?.ok && whenValue.value !== true) return { kind: 'skip' };
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (!v.ok) {
      const where = task.when && k === 0 ? 'when' : exprs[k - (task.when ? 1 : 0)]![0];
      return { kind: 'failed', failure: expressionFailure(`${task.key}.${where}`, v.error) };
    }
  }
  return { kind: 'input', input: evaluatedInput(task, exprs, values.slice(task.when ? 1 : 0).map((v) => (v as { value: unknown }).value)) };
}

/** What task expressions see: the attributes at top level, `entity`, `tasks.<key>.output`, `run`, `now`. */
export function expressionContext(entity: EntityView, outputs: Record<string, { output: unknown; status?: string }>, run: RunContext, now: number): Record<string, unknown> {
  return { ...entity.attributes, entity, tasks: outputs, run, now: new Date(now).toISOString() };
}

/** Replaces expression fields of the input with their values (one level into objects, like taskExpressions). */
export function evaluatedInput(task: TaskDef, exprs: Array<[string, string]>, values: unknown[]): Record<string, unknown> {
  const input: Record<string, unknown> = structuredClone(task.input);
  exprs.forEach(([path, _], k) => {
    const parts = path.split('.').slice(1); // drop "input"
    if (parts.length === 1) input[parts[0]!] = values[k];
    else (input[parts[0]!] as Record<string, unknown>)[parts.slice(1).join('.')] = values[k];
  });
  return input;
}
