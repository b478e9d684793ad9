/**
 * Queuing runs: by a save (every status entered starts the enabled processes it triggers, in the
 * save's own transaction) or by hand. Loop protection lives here.
 */
import type { Transaction } from 'kysely';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { findTriggeredProcesses, findTriggeredProcessesSync } from '../store/processes.js';
import { insertRuns, insertRunsSync, type ChainLink, type NewRun, type RunTrigger } from '../store/runs.js';
import type { SqlSync } from '../store/sqlite-writer.js';
import type { Tables } from '../store/schema.js';
import type { Services } from './services.js';

/** The run whose task made a save: its id, process, entity and the chain that led to it. */
export interface SaveCause {
  runId: string;
  process: string;
  entityId: string;
  chain: ChainLink[];
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

/**
 * Queues the runs for the statuses a save entered. Throws PROCESS_LOOP_DETECTED (so the save is
 * refused and the causing step fails with that error) when a process would re-enter itself for the
 * same entity more often than the loop limit within one cause chain.
 */
export async function queueTriggeredRuns(
  trx: Transaction<Tables>,
  services: Services,
  s: TriggeringSave,
  /** The processes the entered statuses trigger, when the caller read them already (Postgres save). */
  triggered?: Array<{ key: string; version: number; triggerStatus: string }>,
): Promise<Array<{ id: string; process: string }>> {
  if (s.entered.length === 0) return [];
  const runs = planTriggeredRuns(services, s, triggered ?? (await findTriggeredProcesses(trx, s.orgId, s.entityType, s.entered)));
  if (runs.length === 0) return [];
  const inserted = new Set(await insertRuns(trx, runs));
  return runs.filter((r) => inserted.has(r.id)).map((r) => ({ id: r.id, process: r.process }));
}

/** SQLite fast path of queueTriggeredRuns, inside the save's SqliteWriter write. */
export function queueTriggeredRunsSync(sq: SqlSync, services: Services, s: TriggeringSave): Array<{ id: string; process: string }> {
  if (s.entered.length === 0) return [];
  const runs = planTriggeredRuns(services, s, findTriggeredProcessesSync(sq, s.orgId, s.entityType, s.entered));
  if (runs.length === 0) return [];
  const inserted = new Set(insertRunsSync(sq, runs));
  return runs.filter((r) => inserted.has(r.id)).map((r) => ({ id: r.id, process: r.process }));
}

/** The runs the triggered processes start, after the loop check. */
function planTriggeredRuns(services: Services, s: TriggeringSave, triggered: Array<{ key: string; version: number; triggerStatus: string }>): NewRun[] {
  if (triggered.length === 0) return [];
  const chain = chainAfter(s.cause);
  const now = Date.now();
  const queuedAt = new Date(now).toISOString();
  const runs: NewRun[] = [];
  for (const p of triggered) {
    const depth = chain.filter(([process, entity]) => process === p.key && entity === s.entityId).length;
    if (depth >= services.loopLimit) {
      throw new AppError(
        'PROCESS_LOOP_DETECTED',
        `Process "${p.key}" has already run ${depth} times for this entity in this chain of runs; the loop limit is ${services.loopLimit}. The save was not made.`,
        { process: p.key, entityId: s.entityId, depth, limit: services.loopLimit, chain },
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
  const now = Date.now();
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
