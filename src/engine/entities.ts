/** Reading, listing and deleting entities (saving is in save.ts). */
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { deleteEntity, getEntity, getEntitySync, insertEvent, listEntities, listEvents, type EntityEvent, type EntityRecord } from '../store/entities.js';
import { expressionInput } from './requirements.js';
import { checkOrThrow } from './expressions.js';
import type { CallContext, Services } from './services.js';

/** The entity, or undefined; on SQLite a plain cached statement. */
export function findEntity(services: Services, orgId: string, type: string, id: string): Promise<EntityRecord | undefined> {
  const sqlite = services.database.sqlite;
  return sqlite ? sqlite.read((s) => getEntitySync(s, orgId, type, id)) : getEntity(services.database.db, orgId, type, id);
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

/** Most rows a `where` listing examines for one page; past it the page ends early with a cursor. */
const WHERE_SCAN_LIMIT = 10_000;
const WHERE_CHUNK = 500;

/**
 * Newest first. Without `where` one indexed query; with `where` the rows are read in chunks and the
 * condition is evaluated in the expression worker (an entity matches when it gives exactly `true`).
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
  const base = { orgId: ctx.orgId, type, statuses: q.statuses };
  if (!q.where) {
    const rows = await listEntities(db, { ...base, beforeId: q.after, limit: q.limit + 1 });
    const items = rows.slice(0, q.limit);
    return { items, nextId: rows.length > q.limit ? items[items.length - 1]!.id : null };
  }
  checkOrThrow(q.where, 'where', loaded.definition.attributes.map((a) => a.key));
  const items: EntityRecord[] = [];
  let cursor = q.after;
  let scanned = 0;
  for (;;) {
    const chunk = await listEntities(db, { ...base, beforeId: cursor, limit: WHERE_CHUNK });
    if (chunk.length === 0) return { items, nextId: null };
    const inputs = chunk.map((e) => expressionInput(e));
    const outcomes = await services.evaluator.evaluateForEach(q.where, inputs, { org: ctx.orgId });
    for (let i = 0; i < chunk.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.ok && outcome.value === true) {
        items.push(chunk[i]!);
        if (items.length === q.limit) {
          const more = i < chunk.length - 1 || chunk.length === WHERE_CHUNK;
          return { items, nextId: more ? chunk[i]!.id : null };
        }
      }
    }
    scanned += chunk.length;
    cursor = chunk[chunk.length - 1]!.id;
    if (chunk.length < WHERE_CHUNK) return { items, nextId: null };
    if (scanned >= WHERE_SCAN_LIMIT) return { items, nextId: cursor };
  }
}

/** Events of one entity, oldest first; still listed after the entity was deleted. */
export async function entityEvents(
  services: Services,
  ctx: CallContext,
  type: string,
  id: string,
  q: { limit: number; after?: string },
): Promise<{ items: EntityEvent[]; nextId: string | null }> {
  await services.entityTypes.loadFresh(ctx.orgId, type);
  const rows = await listEvents(services.database.db, ctx.orgId, id, q.after, q.limit + 1);
  if (rows.length === 0 ? !q.after : rows[0]!.entityType !== type) await readEntity(services, ctx, type, id);
  const items = rows.slice(0, q.limit);
  return { items, nextId: rows.length > q.limit ? items[items.length - 1]!.id : null };
}
