/** Paged reads of runs and steps, measured before they are read (the page budget, domain/page-budget.ts). */
import { sql } from 'kysely';
import type { SizedRow } from '../domain/page-budget.js';
import { toRun, toStep, type Executor, type Run, type RunStatus, type Step } from './runs.js';

/**
 * The indexes (as text) and stored sizes (bytes of input, output and error) of a run's steps after
 * `afterIdx`, without reading them into memory. On SQLite, measuring `output` and `error` walks the
 * overflow pages of the columns before them (entity-events' listEventSizes avoids that); a run has at
 * most 50 steps, so this costs at most one pass over the run's own steps on disk.
 */
export async function listStepSizes(db: Executor, orgId: string, runId: string, page: { afterIdx?: number; limit: number }): Promise<SizedRow[]> {
  let query = db
    .selectFrom('run_steps')
    .select([sql<string>`cast(idx as text)`.as('id'), sql<number>`coalesce(octet_length(input), 0) + coalesce(octet_length(output), 0) + coalesce(octet_length(error), 0)`.as('bytes')])
    .where('run_id', '=', runId)
    .where('org_id', '=', orgId);
  if (page.afterIdx !== undefined) query = query.where('idx', '>', page.afterIdx);
  return query.orderBy('idx').limit(page.limit).execute();
}

/**
 * The steps of a run at `idxs`, in order. `withData: false` leaves input and output unread (null;
 * errors are clipped small when written): the run detail lists steps past the page budget that way,
 * marked `omitted`.
 */
export async function listStepsAt(db: Executor, orgId: string, runId: string, idxs: readonly number[], withData: boolean): Promise<Step[]> {
  if (idxs.length === 0) return [];
  const base = db.selectFrom('run_steps').where('run_id', '=', runId).where('org_id', '=', orgId).where('idx', 'in', idxs).orderBy('idx');
  if (withData) return (await base.selectAll().execute()).map(toStep);
  const rows = await base.select(['run_id', 'idx', 'task', 'status', 'attempts', 'error', 'started_at', 'finished_at']).execute();
  return rows.map((r) => ({ ...toStep({ ...r, org_id: '', input: null, output: null }), omitted: true }));
}

export interface RunFilter {
  orgId: string;
  process?: string;
  entityId?: string;
  status?: readonly RunStatus[];
  batchId?: string;
  beforeId?: string;
  limit: number;
}

function filteredRuns(db: Executor, f: RunFilter) {
  let q = db.selectFrom('runs').where('org_id', '=', f.orgId);
  if (f.process) q = q.where('process', '=', f.process);
  if (f.entityId) q = q.where('entity_id', '=', f.entityId);
  if (f.status && f.status.length > 0) q = q.where('status', 'in', f.status);
  if (f.batchId) q = q.where('batch_id', '=', f.batchId);
  if (f.beforeId) q = q.where('id', '<', f.beforeId);
  return q;
}

/** The ids and stored sizes (bytes of the JSON columns) of the runs matching `f`, newest first, without reading them. */
export async function listRunSizes(db: Executor, f: RunFilter): Promise<SizedRow[]> {
  const bytes = sql<number>`octet_length(trigger) + octet_length(chain) + coalesce(octet_length(error), 0)`;
  return filteredRuns(db, f).select(['id', bytes.as('bytes')]).orderBy('id', 'desc').limit(f.limit).execute();
}

/** Runs of one org by id, in the order of `ids`. */
export async function getRunsInOrder(db: Executor, orgId: string, ids: readonly string[]): Promise<Run[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('runs').selectAll().where('org_id', '=', orgId).where('id', 'in', ids).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [toRun(row)] : [];
  });
}
