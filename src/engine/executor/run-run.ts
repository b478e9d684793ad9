/**
 * Executes one claimed run from its next step: evaluate the task's `when` and input mappings, run the
 * task kind, and commit the step's result before the next step starts. Failures become data on the
 * step and the run; retryable ones put the run back in the queue after a backoff.
 */
import { engineFailure, toFailure, type Failure } from '../../domain/failure.js';
import { withOrigin } from '../../domain/failure-codes.js';
import { runUpdated } from '../bus-events.js';
import { isConnectionLoss } from '../../store/pg-pool.js';
import type { ProcessDefinition, TaskDef } from '../../domain/process.js';
import { backoffMs } from '../../domain/retry.js';
import { TASK_KINDS } from '../../connectors/registry.js';
import { delayUntil, type DelayInput } from '../../connectors/flow/delay.js';
import type { EntityView, TaskContext } from '../../connectors/types.js';
import { findEntity } from '../entities.js';
import type { EntityRecord } from '../../store/entities.js';
import { listSteps, type Run, type RunUpdate, type StepWrite } from '../../store/runs.js';
import { cancelNotStarted } from '../../store/run-moves.js';
import type { Services } from '../services.js';
import type { CommitQueue } from './commit-queue.js';
import { entityActions } from './entity-actions.js';
import type { Batcher } from './batcher.js';
import { connectionContextFor, secretValues } from '../connection-context.js';
import { redact } from '../../connectors/kit/redact.js';
import { onceAborted, raceAbort } from '../abort.js';
import { evaluateTask } from './evaluate-task.js';

export interface RunDeps {
  services: Services;
  commits: CommitQueue;
  owner: string;
  /** Aborted when the worker stops: in-flight steps are abandoned and resumed elsewhere. */
  shutdown: AbortSignal;
  /** Runs whose cancellation was asked in this process (checked between steps). */
  isCancelRequested(runId: string): Promise<boolean>;
  /** Groups steps of batchable task kinds into shared provider calls (batcher.ts); absent: every step alone. */
  batcher?: Batcher;
}

/** A step outcome to commit, and what happens to the run. */
interface Commit {
  step: StepWrite;
  run: RunUpdate;
}

/** `claimedEntity`: the entity as read when the run was claimed (null: gone; undefined: not read). */
export async function executeRun(deps: RunDeps, run: Run, claimedEntity?: EntityRecord | null): Promise<void> {
  const { services } = deps;
  const def = await services.processVersions.load(run.orgId, run.process, run.processVersion);
  if (!def) return finish(deps, run, null, { status: 'failed', error: nonRetryable('PROCESS_VERSION_MISSING', `Process ${run.process} version ${run.processVersion} no longer exists.`) });

  const outputs: Record<string, { output: unknown; status: string }> = {};
  if (run.stepIndex > 0) {
    for (const s of await listSteps(services.database.db, run.orgId, run.id)) outputs[s.task] = { output: s.output, status: s.status };
  }
  let entity = claimedEntity === undefined ? await loadEntity(services, run) : claimedEntity && entityView(claimedEntity);
  for (let i = run.stepIndex; i < def.tasks.length; i++) {
    if (deps.shutdown.aborted) return; // the lease lapses; another worker resumes here
    // The claimed row tells whether a cancel was asked before this worker took the run (e.g. while it
    // waited for a backoff); between steps the database is asked again.
    if (i === run.stepIndex ? run.cancelRequested : await deps.isCancelRequested(run.id)) {
      return finish(deps, run, null, { status: 'cancelled', stepIndex: i });
    }
    if (!entity) return finish(deps, run, null, { status: 'failed', error: nonRetryable('ENTITY_NOT_FOUND', `The run's ${run.entityType} ${run.entityId} was deleted.`) });
    const task = def.tasks[i]!;
    const attempt = (i === run.stepIndex ? run.attempt : 0) + 1;
    const startedAt = new Date(services.clock.now()).toISOString();
    // A step of a batchable kind is expected by the batcher until it joins its lane (or will not).
    const arrived = deps.batcher && TASK_KINDS.get(task.kind)?.batch ? deps.batcher.expect() : undefined;
    const outcome = await runStep(deps, run, def, task, i, attempt, entity, outputs, startedAt, arrived).finally(() => arrived?.());
    const last = i === def.tasks.length - 1;
    if (outcome.kind === 'done') {
      outputs[task.key] = { output: outcome.output, status: outcome.status };
      const runUpdate: RunUpdate = last ? { status: 'succeeded', stepIndex: i + 1, attempt: 0, release: true, finishedAt: new Date(services.clock.now()).toISOString(), error: null } : { stepIndex: i + 1, attempt: 0 };
      const kept = await commit(deps, run, { step: { ...outcome.step, status: outcome.status }, run: runUpdate });
      if (!kept) return;
      if (last) return;
      if (task.kind.startsWith('entity.')) entity = await loadEntity(services, run);
      continue;
    }
    // A cancel asked while this step ran ends the run now rather than after the wait.
    const parks = outcome.kind === 'wait' || (outcome.kind === 'failed' && outcome.failure.retryable && attempt < def.settings.retry.maxAttempts);
    if (parks && (await deps.isCancelRequested(run.id))) {
      const step = outcome.kind === 'failed' ? { ...outcome.step, status: 'failed' as const, error: outcome.failure } : null;
      return finish(deps, run, step, { status: 'cancelled', stepIndex: i });
    }
    if (outcome.kind === 'wait') {
      if (await commit(deps, run, { step: outcome.step, run: { status: 'waiting', stepIndex: i, attempt: attempt, availableAt: outcome.untilMs, release: true } })) await cancelParkedIfAsked(deps, run);
      return;
    }
    // failed
    const f = outcome.failure;
    if (f.retryable && attempt < def.settings.retry.maxAttempts) {
      const delay = backoffMs(def.settings.retry, attempt, f.retryAfterMs);
      const parked = await commit(deps, run, {
        step: { ...outcome.step, status: 'failed', error: f },
        run: { status: 'waiting', stepIndex: i, attempt, availableAt: services.clock.now() + delay, release: true, error: f },
      });
      if (parked) await cancelParkedIfAsked(deps, run);
      return;
    }
    await commit(deps, run, {
      step: { ...outcome.step, status: 'failed', error: f },
      run: { status: 'failed', stepIndex: i, attempt, release: true, error: f, finishedAt: new Date(services.clock.now()).toISOString() },
    });
    return;
  }
  // No task left (e.g. resumed after the last step's commit was lost): the run is done.
  await finish(deps, run, null, { status: 'succeeded', error: null });
}

type StepOutcome =
  | { kind: 'done'; status: 'succeeded' | 'skipped'; output: unknown; step: StepWrite }
  | { kind: 'wait'; untilMs: number; step: StepWrite }
  | { kind: 'failed'; failure: Failure; step: StepWrite };

async function runStep(
  deps: RunDeps,
  run: Run,
  def: ProcessDefinition,
  task: TaskDef,
  idx: number,
  attempt: number,
  entity: EntityView,
  outputs: Record<string, { output: unknown }>,
  startedAt: string,
  arrived?: () => void,
): Promise<StepOutcome> {
  const base: StepWrite = { runId: run.id, orgId: run.orgId, idx, task: task.key, status: 'running', attempts: attempt, startedAt, finishedAt: null };
  const done = (s: Partial<StepWrite>): StepWrite => ({ ...base, ...s, finishedAt: new Date(deps.services.clock.now()).toISOString() });
  const kind = TASK_KINDS.get(task.kind);
  if (!kind) return { kind: 'failed', failure: nonRetryable('TASK_KIND_UNKNOWN', `Task kind ${task.kind} is not available.`), step: done({}) };

  // Evaluate `when` and every input mapping in one round trip (the same evaluation as a dry run's).
  const evaluation = await evaluateTask({
    evaluator: deps.services.evaluator,
    org: run.orgId,
    task,
    kind,
    entity,
    outputs,
    run: { id: run.id, process: run.process, attempt, trigger: run.trigger },
    now: deps.services.clock.now(),
  });
  if (evaluation.kind === 'skip') return { kind: 'done', status: 'skipped', output: null, step: done({ status: 'skipped' }) };
  if (evaluation.kind === 'failed') return { kind: 'failed', failure: evaluation.failure, step: done({}) };
  const { input } = evaluation;

  if (task.kind === 'delay') {
    const untilMs = delayUntil(input as unknown as DelayInput, Date.parse(startedAt));
    if (run.stepIndex === idx && run.status === 'running' && run.attempt > 0 && deps.services.clock.now() >= run.availableAt) {
      return { kind: 'done', status: 'succeeded', output: { waitedUntil: new Date(run.availableAt).toISOString() }, step: done({ input, output: { waitedUntil: new Date(run.availableAt).toISOString() } }) };
    }
    return { kind: 'wait', untilMs, step: { ...base, status: 'waiting', input } };
  }

  // The step's signal: its time limit joined to the worker's shutdown. (AbortSignal.timeout + any cost
  // a timer, weak references and a finalizer per step; this costs a timer and one listener, removed after.)
  const step = new AbortController();
  const signal = step.signal;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    step.abort(new DOMException(`The step took longer than ${def.settings.timeoutMs} ms.`, 'TimeoutError'));
  }, def.settings.timeoutMs);
  const stopWaiting = onceAborted(deps.shutdown, () => step.abort(deps.shutdown.reason));
  const ctx: TaskContext = {
    orgId: run.orgId,
    runId: run.id,
    taskKey: task.key,
    idempotencyKey: `${run.id}:${task.key}`,
    signal,
    entity,
    entities: entityActions(deps.services, run, task.key),
  };
  try {
    if (task.connection) {
      ctx.connection = await connectionContextFor(deps.services, { orgId: run.orgId, runId: run.id, entityId: run.entityId, entityType: run.entityType, connectionKey: task.connection });
    }
    // A provider may echo a credential back (in a body or an error): steps never keep one.
    const secrets = ctx.connection ? secretValues(ctx.connection.connection) : [];
    const running = deps.batcher ? deps.batcher.run(kind, input, ctx, arrived) : kind.run(input, ctx);
    const output = redact((await raceAbort(running, signal)) ?? null, secrets);
    return { kind: 'done', status: 'succeeded', output, step: done({ input, output }) };
  } catch (err) {
    // A lost database connection is not the task's failure and must not use up its attempts: the run
    // stops here and resumes at this step when its lease lapses (executor.ts).
    if (isConnectionLoss(err) && !timedOut) throw err;
    let failure = toFailure(err);
    if (timedOut && !deps.shutdown.aborted) failure = { code: 'STEP_TIMEOUT', message: `The step took longer than ${def.settings.timeoutMs} ms.`, retryable: true };
    if (ctx.connection) failure = redact(failure, secretValues(ctx.connection.connection));
    return { kind: 'failed', failure, step: done({ input, error: failure }) };
  } finally {
    clearTimeout(timer);
    stopWaiting();
  }
}

async function loadEntity(services: Services, run: Run): Promise<EntityView | undefined> {
  const e = await findEntity(services, run.orgId, run.entityType, run.entityId);
  return e && entityView(e);
}

function entityView(e: EntityRecord): EntityView {
  return { id: e.id, type: e.type, status: e.status, version: e.version, attributes: e.attributes };
}

function nonRetryable(code: string, message: string, details?: unknown): Failure {
  return engineFailure(code, message, false, details === undefined ? {} : { details });
}

/** Commits a step and the run's new state; false when this worker lost the run meanwhile. */
async function commit(deps: RunDeps, run: Run, c: Commit): Promise<boolean> {
  const step = c.step.error ? { ...c.step, error: withOrigin(c.step.error) } : c.step;
  const update = c.run.error ? { ...c.run, error: withOrigin(c.run.error) } : c.run;
  const kept = await deps.commits.commit({ runId: run.id, orgId: run.orgId, owner: deps.owner, run: update, step });
  if (kept) publishRun(deps, run, update, step);
  return kept;
}

async function finish(deps: RunDeps, run: Run, step: StepWrite | null, u: { status: 'failed' | 'succeeded' | 'cancelled'; error?: Failure | null; stepIndex?: number }): Promise<void> {
  const update: RunUpdate = { status: u.status, release: true, finishedAt: new Date(deps.services.clock.now()).toISOString(), error: u.error ? withOrigin(u.error) : null };
  if (u.stepIndex !== undefined) update.stepIndex = u.stepIndex;
  if (step?.error) step = { ...step, error: withOrigin(step.error) };
  const kept = await deps.commits.commit({ runId: run.id, orgId: run.orgId, owner: deps.owner, run: update, step });
  if (kept) publishRun(deps, run, update, step);
}

/** Every commit is told: a run's new status, or a step committed while it goes on (status `running`). */
/**
 * A cancel asked between the check before parking and the park's commit found the run still running
 * and only set its flag: the run would then wait out its whole delay or backoff. Cancel it now.
 */
async function cancelParkedIfAsked(deps: RunDeps, run: Run): Promise<void> {
  if (!(await deps.isCancelRequested(run.id))) return;
  if (await cancelNotStarted(deps.services.database.db, run.orgId, run.id, new Date(deps.services.clock.now()).toISOString())) {
    deps.services.bus.publish(runUpdated(run, 'cancelled'));
  }
}

function publishRun(deps: RunDeps, run: Run, u: RunUpdate, step: StepWrite | null): void {
  if (u.status === undefined && !step) return;
  const progress = step ? { index: step.idx, task: step.task, status: step.status } : undefined;
  deps.services.bus.publish(runUpdated(run, u.status ?? 'running', u.error ?? null, progress));
}
