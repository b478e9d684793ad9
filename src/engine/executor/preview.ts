/**
 * Dry run ("test against a real entity"): evaluates every task's `when` and input mappings against the
 * entity, in order, with the same context a real run gives them — and runs nothing: no task kind is
 * called, nothing is sent or written. Earlier tasks do not run, so `tasks.<key>.output` is null here;
 * a step that reads one says so in its `note`.
 */
import { engineFailure, type Failure } from '../../domain/failure.js';
import { referencedTasks, type ProcessDefinition } from '../../domain/process.js';
import { TASK_KINDS } from '../../connectors/registry.js';
import type { EntityView } from '../../connectors/types.js';
import type { Evaluator } from '../../expr/index.js';
import type { RunTrigger } from '../../store/runs.js';
import { evaluateTask, taskSources } from './evaluate-task.js';
import type { Clock } from '../clock.js';

/** One task as the dry run saw it. */
export interface PreviewStep {
  task: string;
  kind: string;
  /** `evaluated`: the input shown is what the task would receive; nothing was sent. */
  status: 'evaluated' | 'skipped' | 'failed';
  attempts: 0;
  input: unknown;
  output: null;
  error: Failure | null;
  startedAt: null;
  finishedAt: null;
  /** Set when the task reads outputs of earlier tasks, which a dry run does not have. */
  note?: string;
}

/** A run's trigger as the API shows it: every field present. */
export interface TriggerView {
  type: RunTrigger['type'];
  status: string | null;
  batchId: string | null;
  actor: string | null;
}

export function triggerView(t: RunTrigger): TriggerView {
  return { type: t.type, status: t.status ?? null, batchId: t.batchId ?? null, actor: t.actor ?? null };
}

/** The body of a dry-run answer: shaped like a run, marked `dryRun: true`, never stored (`id` null). */
export interface DryRun {
  id: null;
  dryRun: true;
  process: string;
  processVersion: number;
  entityId: string;
  entityType: string;
  /** `succeeded` when every task's condition and input could be evaluated, else `failed`. */
  status: 'succeeded' | 'failed';
  trigger: TriggerView;
  attempt: 0;
  queuedAt: null;
  startedAt: string;
  finishedAt: string;
  /** The first evaluation failure. */
  error: Failure | null;
  steps: PreviewStep[];
}

export interface PreviewRequest {
  evaluator: Evaluator;
  /** The organization the dry run is made for (its share of the expression workers). */
  org: string;
  process: string;
  version: number;
  definition: ProcessDefinition;
  entity: EntityView;
  trigger: RunTrigger;
  /** The engine's clock: the dry run's times and the `now` its expressions see. */
  clock: Clock;
}

export async function previewRun(r: PreviewRequest): Promise<DryRun> {
  const startedAt = new Date(r.clock.now()).toISOString();
  const outputs: Record<string, { output: unknown; status: string }> = {};
  const steps: PreviewStep[] = [];
  for (const task of r.definition.tasks) {
    const step = await previewTask(r, task, outputs);
    steps.push(step);
    // Later tasks see this one as a real run would, but without an output.
    outputs[task.key] = { output: null, status: step.status === 'skipped' ? 'skipped' : 'dry_run' };
  }
  const firstError = steps.find((s) => s.error)?.error ?? null;
  return {
    id: null,
    dryRun: true,
    process: r.process,
    processVersion: r.version,
    entityId: r.entity.id,
    entityType: r.entity.type,
    status: firstError ? 'failed' : 'succeeded',
    trigger: triggerView(r.trigger),
    attempt: 0,
    queuedAt: null,
    startedAt,
    finishedAt: new Date(r.clock.now()).toISOString(),
    error: firstError,
    steps,
  };
}

async function previewTask(r: PreviewRequest, task: ProcessDefinition['tasks'][number], outputs: Record<string, { output: unknown; status: string }>): Promise<PreviewStep> {
  const base: PreviewStep = { task: task.key, kind: task.kind, status: 'evaluated', attempts: 0, input: null, output: null, error: null, startedAt: null, finishedAt: null };
  const kind = TASK_KINDS.get(task.kind);
  if (!kind) return { ...base, status: 'failed', error: engineFailure('TASK_KIND_UNKNOWN', `Task kind ${task.kind} is not available.`, false) };

  const { sources } = taskSources(task, kind);
  const earlier = [...new Set(sources.flatMap(referencedTasks))].filter((k) => k in outputs);
  if (earlier.length > 0) {
    base.note = `Earlier tasks do not run in a dry run: ${earlier.map((k) => `tasks.${k}.output`).join(', ')} ${earlier.length === 1 ? 'was' : 'were'} null here.`;
  }
  const evaluation = await evaluateTask({
    evaluator: r.evaluator,
    org: r.org,
    task,
    kind,
    entity: r.entity,
    outputs,
    run: { id: null, process: r.process, attempt: 1, trigger: r.trigger, dryRun: true },
    now: r.clock.now(),
  });
  if (evaluation.kind === 'skip') return { ...base, status: 'skipped' };
  if (evaluation.kind === 'failed') return { ...base, status: 'failed', error: evaluation.failure };
  return { ...base, input: evaluation.input };
}
