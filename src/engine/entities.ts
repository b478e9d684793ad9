/** Reading, listing and deleting entities (saving is in save.ts). */
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { readBudgetedPage } from '../domain/page-budget.js';
import {
  deleteEntity,
  getEntitiesInOrder,
  readEntityOf,
  getEventsInOrder,
  insertEvent,
  listEntitySizes,
  listEventSizes,
  type EntityEvent,
  type EntityRecord,
} from '../store/entities.js';
import { findEntitiesWhere } from './entity-where.js';
import { checkOrThrow } from './expressions.js';
import type { CallContext, Services } from './services.js';

/** The entity, or undefined; on SQLite a plain cached statement. */
export function findEntity(services: Services, orgId: string, type: string, id: string): Promise<EntityRecord | undefined> {
  return readEntityOf(services.database, orgId, type, id);
}

export async function readEntity(services: Services, ctx: CallContext, type: string, id: string): Promise<EntityRecord> {
  const entity = await findEntity(services, ctx.orgId, type, id);
  if (!entity) throw new AppError('ENTITY_NOT_FOUND', `No ${type} with id "${id}".`, { entityType: type, id });
  return entity;
}

/** Deletes the entity and records a `deleted` event (events outlive their entity, for audit). */
export async function removeEntity(services: Services, ctx: CallContext, type: string, id: string): Promise<void> {
  await services.entityTypes.loadFresh(ctx.orgId, type);
  await services.database.db.transaction().execute(async (trx) => {
    const deleted = await deleteEntity(trx, ctx.orgId, type, id);
    if (!deleted) throw new AppError('ENTITY_NOT_FOUND', `No ${type} with id "${id}".`, { entityType: type, id });
    const event: EntityEvent = {
      id: newId(),
      entityId: id,
      entityType: type,
      entityVersion: deleted.version,
      kind: 'deleted',
      statusBefore: deleted.status,
      statusAfter: null,
      statusPath: [deleted.status],
      changes: {},
      actor: { ...ctx.actor },
      createdAt: new Date().toISOString(),
    };
    await insertEvent(trx, ctx.orgId, event);
  });
}

export interface EntityListQuery {
  statuses?: string[];
  where?: string;
  limit: number;
  /** Id to continue after (from the previous page's cursor). */
  after?: string;
}

/**
 * Newest first, each page bounded by `limit` and by the page budget in bytes (services.pageBytes):
 * the rows' sizes are measured first, then only the rows that fit are read. With `where` see
 * entity-where.ts.
 */
export async function findEntities(
  services: Services,
  ctx: CallContext,
  type: string,
  q: EntityListQuery,
): Promise<{ items: EntityRecord[]; nextId: string | null }> {
  const loaded = await services.entityTypes.loadFresh(ctx.orgId, type);
  const known = new Set(loaded.definition.statuses.map((s) => s.key));
  for (const s of q.statuses ?? []) {
    if (!known.has(s)) throw new AppError('STATUS_UNKNOWN', `"${s}" is not a status of ${type}.`, { status: s, allowed: [...known] });
  }
  const { db } = services.database;
  const query = { orgId: ctx.orgId, type, statuses: q.statuses, beforeId: q.after, limit: q.limit };
  if (!q.where) {
    const sizes = await listEntitySizes(db, { ...query, limit: q.limit + 1 });
    return readBudgetedPage(sizes, q.limit, services.pageBytes, (ids) => getEntitiesInOrder(db, ctx.orgId, type, ids));
  }
  checkOrThrow(q.where, 'where', loaded.definition.attributes.map((a) => a.key));
  return findEntitiesWhere(services, query, q.where);
}

/** Events of one entity, oldest first, bounded by `limit` and the page budget; still listed after the entity was deleted. */
export async function entityEvents(
  services: Services,
  ctx: CallContext,
  type: string,
  id: string,
  q: { limit: number; after?: string },
): Promise<{ items: EntityEvent[]; nextId: string | null }> {
  await services.entityTypes.loadFresh(ctx.orgId, type);
  const { db } = services.database;
  const sizes = await listEventSizes(db, ctx.orgId, id, q.after, q.limit + 1);
  const result = await readBudgetedPage(sizes, q.limit, services.pageBytes, (ids) => getEventsInOrder(db, ctx.orgId, id, ids));
  const first = result.items[0];
  if (first ? first.entityType !== type : !q.after) await readEntity(services, ctx, type, id);
  return result;
}
