/** Reading, listing and deleting entities (saving is in save.ts). */
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { fitPage, ITEM_OVERHEAD_BYTES, readBudgetedPage } from '../domain/page-budget.js';
import {
  deleteEntity,
  getEntitiesInOrder,
  getEntity,
  getEntitySync,
  getEventsInOrder,
  insertEvent,
  listEntitySizes,
  listEventSizes,
  type EntityEvent,
  type EntityRecord,
} from '../store/entities.js';
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

/** Rows measured per query of a `where` listing; each batch read is also capped at the page budget. */
const WHERE_CHUNK = 500;
/** Most rows a `where` listing examines for one page; past it the page ends early with a cursor. */
const WHERE_SCAN_LIMIT = 10_000;
/** Most stored bytes it examines for one page, in page budgets (memory stays at one budget per batch). */
const WHERE_SCAN_BUDGETS = 16;
/**
 * Outcomes that say the condition could not be evaluated on a whole batch of rows (the pool stops a
 * batch that overran its time or crashed its worker), not that a row failed it. Treating them as "no
 * match" once gave 200 OK with 61 of 200 items and no cursor.
 */
const UNEVALUATED = new Set(['EXPR_TIMEOUT', 'EXPR_RESOURCE_LIMIT']);

/**
 * Newest first, each page bounded by `limit` and by the page budget in bytes (services.pageBytes).
 * Without `where`: the rows' sizes, then the rows that fit. With `where`: rows are read in batches no
 * larger than the budget, the condition is evaluated in the expression worker (an entity matches when
 * it gives exactly `true`), and the page ends with a cursor at the limit, the budget or the scan limit.
 * A batch the condition could not be evaluated on ends the page before it, or — when nothing matched
 * yet — is refused with WHERE_TOO_EXPENSIVE: a page never silently leaves out rows.
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
  const { db, dialect } = services.database;
  const base = { orgId: ctx.orgId, type, statuses: q.statuses };
  const budget = services.pageBytes;
  const read = (ids: string[]) => getEntitiesInOrder(db, ctx.orgId, type, ids);
  if (!q.where) {
    return readBudgetedPage(await listEntitySizes(db, dialect, { ...base, beforeId: q.after, limit: q.limit + 1 }), q.limit, budget, read);
  }
  checkOrThrow(q.where, 'where', loaded.definition.attributes.map((a) => a.key));
  const items: EntityRecord[] = [];
  let itemBytes = 0;
  /** The last row examined: where the next page continues. */
  let cursor = q.after;
  let scanned = 0;
  let scannedBytes = 0;
  for (;;) {
    const sizes = await listEntitySizes(db, dialect, { ...base, beforeId: cursor, limit: WHERE_CHUNK });
    const taken = sizes.slice(0, fitPage(sizes, WHERE_CHUNK, budget));
    if (taken.length === 0) return { items, nextId: null };
    const bytes = new Map(taken.map((r) => [r.id, Number(r.bytes) + ITEM_OVERHEAD_BYTES]));
    const rows = await read(taken.map((r) => r.id));
    const outcomes = await services.evaluator.evaluateForEach(q.where, rows.map((e) => expressionInput(e)));
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const outcome = outcomes[i]!;
      if (!outcome.ok && UNEVALUATED.has(outcome.error.code)) {
        if (items.length > 0) return { items, nextId: cursor ?? null };
        throw new AppError('WHERE_TOO_EXPENSIVE', `The where condition could not be evaluated on this page's entities: ${outcome.error.message}. Simplify the condition or narrow the list (status=, a smaller limit).`, {
          cause: outcome.error,
        });
      }
      if (outcome.ok && outcome.value === true) {
        const size = bytes.get(row.id)!;
        if (items.length > 0 && itemBytes + size > budget) return { items, nextId: cursor ?? null };
        items.push(row);
        itemBytes += size;
        if (items.length === q.limit) {
          const more = i < rows.length - 1 || taken.length < sizes.length || sizes.length === WHERE_CHUNK;
          return { items, nextId: more ? row.id : null };
        }
      }
      cursor = row.id;
    }
    cursor = taken[taken.length - 1]!.id;
    scanned += taken.length;
    for (const r of taken) scannedBytes += bytes.get(r.id)!;
    if (taken.length === sizes.length && sizes.length < WHERE_CHUNK) return { items, nextId: null };
    if (scanned >= WHERE_SCAN_LIMIT || scannedBytes >= WHERE_SCAN_BUDGETS * budget) return { items, nextId: cursor };
  }
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
