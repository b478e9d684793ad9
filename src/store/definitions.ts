/** Queries of definitions as code (engine/definitions/): what still depends on a definition that pruning would delete. */
import type { Kysely, Transaction } from 'kysely';
import type { Tables } from './schema.js';

type Executor = Kysely<Tables> | Transaction<Tables>;

/** Runs that have not finished: they still need their process version and its connections. */
const UNFINISHED = ['queued', 'running', 'waiting'];

/** Number of unfinished runs of a process (of any version). */
export async function countUnfinishedRuns(db: Executor, orgId: string, process: string): Promise<number> {
  const row = await db
    .selectFrom('runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .where('process', '=', process)
    .where('status', 'in', UNFINISHED)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The (process, version) pairs that unfinished runs are pinned to, ordered. */
export async function unfinishedRunVersions(db: Executor, orgId: string): Promise<Array<{ process: string; version: number; runs: number }>> {
  const rows = await db
    .selectFrom('runs')
    .select(['process', 'process_version', (eb) => eb.fn.countAll<number>().as('n')])
    .where('org_id', '=', orgId)
    .where('status', 'in', UNFINISHED)
    .groupBy(['process', 'process_version'])
    .orderBy('process')
    .orderBy('process_version')
    .execute();
  return rows.map((r) => ({ process: r.process, version: r.process_version, runs: Number(r.n) }));
}
