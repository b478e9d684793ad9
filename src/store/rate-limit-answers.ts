/**
 * The provider's recent 429 answers per connection (shown with the connection: "is HubSpot pushing
 * back?"). Bounded: each insert deletes all but the newest KEEP rows of its connection.
 */
import { sql, type Kysely } from 'kysely';
import type { Tables } from './schema.js';

/** Rows kept per connection. */
export const KEEP_ANSWERS = 20;

export interface RateLimitAnswer {
  /** When the 429 came (ISO 8601). */
  at: string;
  /** The wait the provider asked for (Retry-After), ms; null when it named none. */
  retryAfterMs: number | null;
}

/** Records a 429 of (org, connection) at `at` (epoch ms) and drops the rows older than the newest KEEP_ANSWERS. */
export async function recordAnswer(db: Kysely<Tables>, orgId: string, connection: string, at: number, retryAfterMs: number | null): Promise<void> {
  await db.insertInto('rate_limit_answers').values({ org_id: orgId, connection, at, retry_after_ms: retryAfterMs }).execute();
  // One statement, no transaction: two answers recorded at once leave at most a row or two extra until the next one.
  await sql`DELETE FROM rate_limit_answers WHERE org_id = ${orgId} AND connection = ${connection} AND at < (
      SELECT at FROM rate_limit_answers WHERE org_id = ${orgId} AND connection = ${connection}
      ORDER BY at DESC LIMIT 1 OFFSET ${KEEP_ANSWERS - 1})`.execute(db);
}

/** The recorded 429s of (org, connection), newest first. */
export async function recentAnswers(db: Kysely<Tables>, orgId: string, connection: string): Promise<RateLimitAnswer[]> {
  const rows = await db
    .selectFrom('rate_limit_answers')
    .select(['at', 'retry_after_ms'])
    .where('org_id', '=', orgId)
    .where('connection', '=', connection)
    .orderBy('at', 'desc')
    .limit(KEEP_ANSWERS)
    .execute();
  return rows.map((r) => ({ at: new Date(Number(r.at)).toISOString(), retryAfterMs: r.retry_after_ms === null ? null : Number(r.retry_after_ms) }));
}

/** Forgets the answers of a deleted connection. */
export async function clearAnswers(db: Kysely<Tables>, orgId: string, connection: string): Promise<void> {
  await db.deleteFrom('rate_limit_answers').where('org_id', '=', orgId).where('connection', '=', connection).execute();
}
