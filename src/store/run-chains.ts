/** Bounds of a cause chain (loop protection, engine/save.ts): how many runs one root has queued, and the lock that keeps that count exact on Postgres. */
import { sql, type Transaction } from 'kysely';
import type { Tables } from './schema.js';
import type { SqlSync } from './sqlite-writer.js';
import type { Executor } from './runs.js';
import { Compiled, sqliteBuilder } from './compiled.js';

/** How many runs the cause chain rooted at `rootRunId` has queued so far (the fan-out bound). */
const countQuery = (db: Executor, orgId: string, rootRunId: string) =>
  db
    .selectFrom('runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('root_run_id', '=', rootRunId)
    .where('org_id', '=', orgId);

export async function countRunsOfRoot(db: Executor, orgId: string, rootRunId: string): Promise<number> {
  return Number((await countQuery(db, orgId, rootRunId).executeTakeFirstOrThrow()).n);
}

const COUNT = new Compiled<{ org: string; root: string }>((p) => countQuery(sqliteBuilder, p.org, p.root));

/** countRunsOfRoot on SQLite, synchronously (inside the save's SqliteWriter write). */
export function countRunsOfRootSync(sq: SqlSync, orgId: string, rootRunId: string): number {
  return Number(COUNT.get<{ n: number }>(sq, { org: orgId, root: rootRunId })!.n);
}

/**
 * Postgres: serialises, until the transaction ends, the saves that queue runs into one cause chain, so
 * two concurrent saves cannot both pass the fan-out bound with the last free place.
 */
export async function lockRunTree(trx: Transaction<Tables>, rootRunId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(72417002, hashtext(${rootRunId}))`.execute(trx);
}
