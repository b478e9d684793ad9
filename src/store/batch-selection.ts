/**
 * Choosing a batch's entities: one keyset chunk at a time (by id, ascending), with the filters SQL can
 * apply (statuses, ids, linked or not to a connection, updated before/after). The `where` condition is
 * the engine's (evaluated per chunk, engine/batches/selection.ts). Uses the (org, type, id) index and,
 * for `linked`, the links primary key (org, entity, connection, …).
 */
import type { Selectable } from 'kysely';
import { toEntity, type EntityRecord } from './entities.js';
import type { Executor } from './runs.js';
import type { EntitiesTable } from './schema.js';

export interface SelectionChunkQuery {
  orgId: string;
  type: string;
  statuses?: readonly string[];
  /** Only these ids (a slice of the filter's ids). */
  ids?: readonly string[];
  linked?: { connection: string; exists: boolean };
  updatedAfter?: string;
  updatedBefore?: string;
  /** Continue after this id. */
  afterId?: string;
  limit: number;
  /** Read the whole rows (for the where condition or a sample); otherwise ids only. */
  full: boolean;
}

/** One chunk of matching entities, by id ascending. */
export async function selectEntityChunk(db: Executor, q: SelectionChunkQuery): Promise<Array<{ id: string; entity?: EntityRecord }>> {
  let query = db.selectFrom('entities as e').where('e.org_id', '=', q.orgId).where('e.type', '=', q.type);
  if (q.statuses && q.statuses.length > 0) query = query.where('e.status', 'in', q.statuses);
  if (q.ids) query = query.where('e.id', 'in', q.ids.length > 0 ? q.ids : ['']);
  if (q.updatedAfter) query = query.where('e.updated_at', '>', q.updatedAfter);
  if (q.updatedBefore) query = query.where('e.updated_at', '<', q.updatedBefore);
  if (q.afterId) query = query.where('e.id', '>', q.afterId);
  if (q.linked) {
    const { connection, exists } = q.linked;
    query = query.where((eb) => {
      const link = eb.selectFrom('links as l').select('l.entity_id').whereRef('l.org_id', '=', 'e.org_id').whereRef('l.entity_id', '=', 'e.id').where('l.connection', '=', connection);
      return exists ? eb.exists(link) : eb.not(eb.exists(link));
    });
  }
  query = query.orderBy('e.id').limit(q.limit);
  if (!q.full) return (await query.select('e.id').execute()).map((r) => ({ id: r.id }));
  const rows = (await query.selectAll('e').execute()) as Array<Selectable<EntitiesTable>>;
  return rows.map((r) => ({ id: r.id, entity: toEntity(r) }));
}

/** Which of `ids` are entities of the organization and type. */
export async function existingEntityIds(db: Executor, orgId: string, type: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('entities').select('id').where('org_id', '=', orgId).where('type', '=', type).where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}
