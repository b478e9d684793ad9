/**
 * Runs as the API sees them: list, read, retry, cancel, and processing one entity by hand (queued,
 * waited for, or dry-run). Every query is scoped by the caller's organization.
 */
import { AppError } from '../domain/errors.js';
import { getEntity } from '../store/entities.js';
import { getProcess } from '../store/processes.js';
import { cancelNotStarted, requestCancel, requeueForRetry } from '../store/run-moves.js';
import { fitPage, readBudgetedPage } from '../domain/page-budget.js';
import { PROCESS_LIMITS } from '../domain/process.js';
import { FINISHED, getRun, listSteps, setRunPinned, type Run, type RunStatus, type RunTrigger, type Step } from '../store/runs.js';
import { getRunsInOrder, listRunSizes, listStepsAt, listStepSizes } from '../store/run-pages.js';
import { previewRun, type DryRun } from './executor/preview.js';
import { readEntity } from './entities.js';
import { queueRun } from './run-queue.js';
import type { CallContext, Services } from './services.js';
import { runUpdated } from './bus-events.js';

/** Steps a run can have: one per task. */
const MAX_STEPS = PROCESS_LIMITS.tasks;

export interface RunFilter {
  process?: string;
  entityId?: string;
  statuses?: RunStatus[];
  batchId?: string;
  limit: number;
  /** Id to continue after (runs are listed newest first). */
  before?: string;
}

/** A page of runs, newest first, bounded by `limit` and the page budget; `nextId` is set when more follow. */
export async function findRuns(services: Services, ctx: CallContext, f: RunFilter): Promise<{ items: Run[]; nextId: string | null }> {
  const { db } = services.database;
  const sizes = await listRunSizes(db, { orgId: ctx.orgId, process: f.process, entityId: f.entityId, status: f.statuses, batchId: f.batchId, beforeId: f.before, limit: f.limit + 1 });
  return readBudgetedPage(sizes, f.limit, services.pageBytes, (ids) => getRunsInOrder(db, ctx.orgId, ids));
}

/** Runs of one entity, newest first; ENTITY_NOT_FOUND when it does not exist and never had runs. */
export async function entityRuns(services: Services, ctx: CallContext, type: string, id: string, page: { limit: number; before?: string }) {
  const result = await findRuns(services, ctx, { entityId: id, ...page });
  const first = result.items[0];
  if (first ? first.entityType !== type : !page.before) await readEntity(services, ctx, type, id);
  return result;
}

/**
 * A run with its steps, or RUN_NOT_FOUND (also for runs of other organizations). Steps whose input and
 * output would take the detail past the page budget come without them (`omitted`); runSteps pages
 * through them in full. (50 tasks with 1 MB answers each would otherwise make one ~100 MB response.)
 */
export async function readRun(services: Services, ctx: CallContext, id: string): Promise<{ run: Run; steps: Step[] }> {
  const { db } = services.database;
  const run = await getRun(db, ctx.orgId, id);
  if (!run) throw notFound(id);
  const sizes = await listStepSizes(db, ctx.orgId, run.id, { limit: MAX_STEPS });
  const fit = fitPage(sizes, sizes.length, services.pageBytes);
  if (fit === sizes.length) return { run, steps: await listSteps(db, ctx.orgId, run.id) };
  const idxs = sizes.map((r) => Number(r.id));
  return { run, steps: [...(await listStepsAt(db, ctx.orgId, run.id, idxs.slice(0, fit), true)), ...(await listStepsAt(db, ctx.orgId, run.id, idxs.slice(fit), false))] };
}

/** Steps of a run with their input and output, by index, bounded by `limit` and the page budget. */
export async function runSteps(services: Services, ctx: CallContext, id: string, page: { afterIdx?: number; limit: number }): Promise<{ items: Step[]; nextId: string | null }> {
  const { db } = services.database;
  const run = await getRun(db, ctx.orgId, id);
  if (!run) throw notFound(id);
  const sizes = await listStepSizes(db, ctx.orgId, run.id, { afterIdx: page.afterIdx, limit: page.limit + 1 });
  return readBudgetedPage(sizes, page.limit, services.pageBytes, (idxs) => listStepsAt(db, ctx.orgId, run.id, idxs.map(Number), true));
}

/**
 * Puts a failed or cancelled run back in the queue: `failed` resumes at the step where it stopped,
 * `start` from the first task. The update is conditional, so of two concurrent retries one wins.
 */
export async function retryRun(services: Services, ctx: CallContext, id: string, from: 'failed' | 'start'): Promise<{ run: Run; steps: Step[] }> {
  const retried = await services.database.db.transaction().execute(async (trx) => {
    const current = await getRun(trx, ctx.orgId, id);
    if (!current) throw notFound(id);
    if (!(await requeueForRetry(trx, ctx.orgId, id, from === 'start' ? 0 : current.stepIndex, services.clock.now()))) {
      throw new AppError('RUN_NOT_RETRYABLE', `Run ${id} is ${current.status}; only failed or cancelled runs can be retried.`, { status: current.status });
    }
    return current;
  });
  publish(services, retried, 'queued');
  services.bus.runsQueued();
  return readRun(services, ctx, id);
}

/**
 * Cancels a run: queued or waiting → cancelled at once; running → cancel requested (the worker stops
 * before the next step and ends the run `cancelled`); finished → RUN_FINISHED.
 */
export async function cancelRun(services: Services, ctx: CallContext, id: string): Promise<{ run: Run; steps: Step[] }> {
  const { db } = services.database;
  // The run can change state between reading and writing (a worker claims or finishes it): try again.
  for (let tries = 0; tries < 5; tries++) {
    const run = await getRun(db, ctx.orgId, id);
    if (!run) throw notFound(id);
    if (FINISHED.includes(run.status)) throw new AppError('RUN_FINISHED', `Run ${id} has already finished (${run.status}).`, { status: run.status });
    const now = new Date().toISOString();
    const moved = run.status === 'running' ? await requestCancel(db, ctx.orgId, id) : await cancelNotStarted(db, ctx.orgId, id, now);
    if (moved) {
      if (run.status !== 'running') publish(services, run, 'cancelled');
      return readRun(services, ctx, id);
    }
  }
  throw new AppError('SERVICE_UNAVAILABLE', `Run ${id} kept changing state; retry the cancel.`);
}

/**
 * Pins a run (retention keeps it whatever its age; docs/operating.md "Retention") or unpins it. Any run
 * can be pinned, also one still running: it is kept once it finishes.
 */
export async function pinRun(services: Services, ctx: CallContext, id: string, pinned: boolean): Promise<{ run: Run; steps: Step[] }> {
  if (!(await setRunPinned(services.database.db, ctx.orgId, id, pinned))) throw notFound(id);
  return readRun(services, ctx, id);
}

export interface ProcessEntityRequest {
  process: string;
  dryRun: boolean;
  wait: boolean;
}

export type ProcessEntityResult =
  | { kind: 'dry_run'; run: DryRun }
  | { kind: 'run'; run: Run; steps: Step[]; finished: boolean };

/**
 * Processes one entity by hand with the current version of a process of its type: queues a manual run
 * (and with `wait`, waits up to `waitMs` for it to finish), or with `dryRun` only evaluates the tasks.
 */
export async function processEntity(
  services: Services,
  ctx: CallContext,
  type: string,
  id: string,
  req: ProcessEntityRequest,
  options: { waitMs: number; signal?: AbortSignal },
): Promise<ProcessEntityResult> {
  const { db } = services.database;
  const stored = await getProcess(db, ctx.orgId, req.process);
  if (!stored) throw new AppError('PROCESS_NOT_FOUND', `No process "${req.process}".`, { process: req.process });
  const definition = stored.definition;
  if (definition.entityType !== type) {
    throw new AppError('PROCESS_WRONG_ENTITY_TYPE', `Process "${req.process}" processes ${definition.entityType} entities, not ${type}.`, { process: req.process, entityType: definition.entityType });
  }
  const entity = await readEntity(services, ctx, type, id);
  const trigger: RunTrigger = { type: 'manual', batchId: null, actor: `${ctx.actor.type}:${ctx.actor.id}` };
  if (req.dryRun) {
    const view = { id: entity.id, type: entity.type, status: entity.status, version: entity.version, attributes: entity.attributes };
    return { kind: 'dry_run', run: await previewRun({ evaluator: services.evaluator, org: ctx.orgId, process: stored.key, version: stored.version, definition, entity: view, trigger, clock: services.clock }) };
  }
  if (!definition.enabled) {
    throw new AppError('PROCESS_DISABLED', `Process "${req.process}" is disabled; enable it to run it (a dry run works while it is disabled).`, { process: req.process });
  }
  // Subscribe before queuing so that no update of the new run can be missed.
  const waiter = req.wait ? new RunWaiter(services, ctx.orgId) : undefined;
  try {
    const runId = await db.transaction().execute(async (trx) => {
      // The entity may be deleted meanwhile: queue only if it is still there.
      if (!(await getEntity(trx, ctx.orgId, type, id))) throw new AppError('ENTITY_NOT_FOUND', `No ${type} with id "${id}".`, { entityType: type, id });
      return queueRun(trx, services, { orgId: ctx.orgId, process: stored.key, processVersion: stored.version, entityType: type, entityId: id, trigger });
    });
    // Published before the workers are woken, so that `queued` is never seen after a later status.
    publish(services, { id: runId, orgId: ctx.orgId, process: stored.key, entityId: id, entityType: type }, 'queued');
    services.bus.runsQueued();
    const { run, steps } = await readRun(services, ctx, runId);
    if (!waiter) return { kind: 'run', run, steps, finished: false };
    const last = await waiter.until(runId, options.waitMs, options.signal);
    const result = last ? await readRun(services, ctx, runId) : { run, steps };
    return { kind: 'run', ...result, finished: FINISHED.includes(result.run.status) };
  } finally {
    waiter?.close();
  }
}

/** Waits for a run to finish: woken by the bus, with a database re-check (workers of other processes publish elsewhere). */
class RunWaiter {
  #runId: string | null = null;
  #signalled = false;
  #wake: () => void = () => {};
  readonly #unsubscribe: () => void;

  constructor(
    private readonly services: Services,
    private readonly orgId: string,
    private readonly recheckMs = 1000,
  ) {
    this.#unsubscribe = services.bus.subscribe((e) => {
      if (e.type !== 'run.updated' || e.orgId !== orgId || e.data.id !== this.#runId) return;
      this.#signalled = true;
      this.#wake();
    });
  }

  /** The run once finished, or as it is when `ms` pass or `signal` aborts. */
  async until(runId: string, ms: number, signal?: AbortSignal): Promise<Run | undefined> {
    this.#runId = runId;
    const deadline = Date.now() + ms;
    const onAbort = () => this.#wake();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        this.#signalled = false;
        const run = await getRun(this.services.database.db, this.orgId, runId);
        if (!run || FINISHED.includes(run.status) || Date.now() >= deadline || signal?.aborted) return run;
        if (this.#signalled) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(this.recheckMs, deadline - Date.now()));
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = () => {};
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    this.#unsubscribe();
  }
}

function notFound(id: string): AppError {
  return new AppError('RUN_NOT_FOUND', `No run with id "${id.slice(0, 100)}".`, { id: id.slice(0, 100) });
}

function publish(services: Services, run: Pick<Run, 'id' | 'orgId' | 'process' | 'entityId' | 'entityType'>, status: RunStatus): void {
  services.bus.publish(runUpdated(run, status));
}
