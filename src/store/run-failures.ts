/**
 * The latest failed run of each process ("last failure" in the API process list). One query for a page
 * of processes; the partial index `runs_process_failed` (migration 008) holds only failed runs, so
 * each process costs one index probe however many runs it has.
 */
import { sql } from 'kysely';
import { iso } from './db.js';
import type { Executor } from './runs.js';

export interface LastFailure {
  runId: string;
  /** The run's error code and message (null when the run failed without one). */
  code: string | null;
  message: string | null;
  at: string;
}

/** The newest failed run (by when it finished) of each process of `keys`; processes never failed are absent. */
export async function lastFailures(db: Executor, orgId: string, keys: readonly string[]): Promise<Record<string, LastFailure>> {
  const out = Object.create(null) as Record<string, LastFailure>;
  if (keys.length === 0) return out;
  const rows = await db
    .selectFrom('runs as r')
    .select(['r.id', 'r.process', 'r.error', 'r.finished_at'])
    .where('r.org_id', '=', orgId)
    .where('r.process', 'in', keys)
    .where('r.status', '=', 'failed')
    .where('r.finished_at', 'is not', null)
    .where(
      'r.finished_at',
      '=',
      sql<string>`(SELECT MAX(f.finished_at) FROM runs f
        WHERE f.org_id = r.org_id AND f.process = r.process AND f.status = 'failed' AND f.finished_at IS NOT NULL)`,
    )
    .orderBy('r.id', 'desc')
    .execute();
  for (const row of rows) {
    if (out[row.process]) continue; // two failures in the same instant: the newer id wins
    let error: { code?: unknown; message?: unknown } | null = null;
    try {
      error = row.error ? (JSON.parse(row.error) as { code?: unknown; message?: unknown }) : null;
    } catch {
      error = null;
    }
    out[row.process] = {
      runId: row.id,
      code: typeof error?.code === 'string' ? error.code : null,
      message: typeof error?.message === 'string' ? error.message : null,
      at: iso(row.finished_at!),
    };
  }
  return out;
}
