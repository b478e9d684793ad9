/**
 * Queuing runs: by a save (every status entered starts the enabled processes it triggers, in the
 * save's own transaction) or by hand. Loop protection lives here (docs/processes.md "Loop protection"):
 * - re-entry: one process may run for one entity at most `loopLimit` times within a cause chain;
 * - depth: a chain holds at most `chainDepthLimit` runs one behind the other, whatever the processes
 *   and entities (a process whose `entity.create` makes an entity of its own type started 2,037
 *   runs in 10 s before this bound: each new entity was a new entity, so re-entry never matched);
 * - fan-out: the runs descended from one root run are at most `chainRunLimit` (two creates per run
 *   double the runs at every level: 18,211 entities in 10 s before this bound).
 * A save that would break one is refused with PROCESS_LOOP_DETECTED; the causing step fails with it.
 * The chain a run stores is bounded by the depth limit; depth and root are two columns.
 */
import type { Transaction } from 'kysely';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { insertRuns, type ChainLink, type NewRun, type RunTrigger } from '../store/runs.js';
import { queueRunsIn, type QueuedRun, type RunPlanner, type TriggeredProcess } from '../store/saves.js';
import type { Tables } from '../store/schema.js';
import type { LoopLimits, Services } from './services.js';

/** The run whose task made a save: its id, process, entity and the chain that led to it. */
export interface SaveCause {
  runId: string;
  process: string;
  entityId: string;
  chain: ChainLink[];
  /** The causing run's depth in its chain (0: no process caused it). */
  depth: number;
  /** The first run of the causing run's chain. */
  rootRunId: string;
  /** `<run id>:<task key>`: makes the task's save happen once even when the step is repeated. */
  key: string;
}

/** The chain a run queued by `cause` carries: the cause's chain plus the cause itself. */
export function chainAfter(cause: SaveCause | undefined): ChainLink[] {
  return cause ? [...cause.chain, [cause.process, cause.entityId]] : [];
}

/** A save that entered statuses (`entered`), as the run queue needs it. */
export interface TriggeringSave {
  orgId: string;
  entityType: string;
  entityId: string;
  eventId: string;
  entered: readonly string[];
  actor: string;
  cause?: SaveCause;
}

/** The loop protection of a save's runs, as the store's write of the save calls it (store/saves.ts). */
export function runPlanner(services: Services, s: TriggeringSave): RunPlanner {
  return {
    plan: (triggered) => planTriggeredRuns(services, s, triggered),
    rootRunId: s.cause?.rootRunId,
    checkFanOut: (adding, existing) => checkFanOut(services, s.cause!, adding, existing),
  };
}

/**
 * Queues the runs for the statuses a save entered, inside the caller's transaction. Throws
 * PROCESS_LOOP_DETECTED (so the save is refused and the causing step fails with that error) when a
 * process would re-enter itself for the same entity more often than the loop limit within one cause chain.
 */
export async function queueTriggeredRuns(
  trx: Transaction<Tables>,
  services: Services,
  s: TriggeringSave,
  /** The processes the entered statuses trigger, when the caller read them already. */
  triggered?: TriggeredProcess[],
): Promise<QueuedRun[]> {
  return queueRunsIn(trx, s, runPlanner(services, s), triggered);
}

/** Refuses the save when its runs would take the chain past the fan-out bound. */
function checkFanOut(limits: LoopLimits, cause: SaveCause, adding: number, existing: number): void {
  if (existing + adding <= limits.chainRunLimit) return;
  throw new AppError(
    'PROCESS_LOOP_DETECTED',
    `This chain of runs (started by run ${cause.rootRunId}) has queued ${existing} runs; ${adding} more would pass the limit of ${limits.chainRunLimit} runs per chain. The save was not made.`,
    { reason: 'fan_out', rootRunId: cause.rootRunId, runs: existing, adding, limit: limits.chainRunLimit },
  );
}

/** The runs the triggered processes start, after the depth and re-entry checks. */
function planTriggeredRuns(services: Services, s: TriggeringSave, triggered: TriggeredProcess[]): NewRun[] {
  if (triggered.length === 0) return [];
  const chain = chainAfter(s.cause);
  const depth = s.cause ? s.cause.depth + 1 : 0;
  if (s.cause && depth >= services.chainDepthLimit) {
    throw new AppError(
      'PROCESS_LOOP_DETECTED',
      `This save would start run number ${depth + 1} of one chain of runs, each caused by the one before (started by run ${s.cause.rootRunId}); the depth limit is ${services.chainDepthLimit}. The save was not made.`,
      { reason: 'depth', process: triggered[0]!.key, entityId: s.entityId, depth, limit: services.chainDepthLimit, rootRunId: s.cause.rootRunId, chain },
    );
  }
  const now = services.clock.now();
  const queuedAt = new Date(now).toISOString();
  const runs: NewRun[] = [];
  for (const p of triggered) {
    const reentries = chain.filter(([process, entity]) => process === p.key && entity === s.entityId).length;
    if (reentries >= services.loopLimit) {
      throw new AppError(
        'PROCESS_LOOP_DETECTED',
        `Process "${p.key}" has already run ${reentries} times for this entity in this chain of runs; the loop limit is ${services.loopLimit}. The save was not made.`,
        { reason: 'reentry', process: p.key, entityId: s.entityId, depth: reentries, limit: services.loopLimit, chain },
      );
    }
    const trigger: RunTrigger = { type: 'status', status: p.triggerStatus, batchId: null, actor: s.actor };
    runs.push({
      id: newId(now),
      orgId: s.orgId,
      process: p.key,
      processVersion: p.version,
      entityType: s.entityType,
      entityId: s.entityId,
      trigger,
      dedupeKey: `${s.orgId}:${p.key}:${s.eventId}:${p.triggerStatus}`,
      causeRunId: s.cause?.runId ?? null,
      chain,
      depth,
      rootRunId: s.cause?.rootRunId,
      batchId: null,
      availableAt: now,
      queuedAt,
    });
  }
  return runs;
}

/** Queues one run by hand (ad hoc processing, batches, retries from the start). */
export async function queueRun(
  trx: Transaction<Tables>,
  services: Services,
  r: { orgId: string; process: string; processVersion: number; entityType: string; entityId: string; trigger: RunTrigger; batchId?: string | null },
): Promise<string> {
  const now = services.clock.now();
  const id = newId(now);
  await insertRuns(trx, [
    {
      id,
      orgId: r.orgId,
      process: r.process,
      processVersion: r.processVersion,
      entityType: r.entityType,
      entityId: r.entityId,
      trigger: r.trigger,
      dedupeKey: null,
      causeRunId: null,
      chain: [],
      batchId: r.batchId ?? null,
      availableAt: now,
      queuedAt: new Date(now).toISOString(),
    },
  ]);
  return id;
}
