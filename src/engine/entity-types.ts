/** Entity type definitions: validate, store (versioned), read, delete. */
import { parseEntityTypeDefinition, type EntityTypeDefinition } from '../domain/entity-type.js';
import { AppError, invalid, type FieldIssue } from '../domain/errors.js';
import { readBudgetedPage } from '../domain/page-budget.js';
import { deleteEntityType, getEntityType, getEntityTypeVersion, listEntityTypes, listEntityTypeSizes, putEntityType, type StoredEntityType } from '../store/entity-types.js';
import { hasEntitiesOfType } from '../store/entities.js';
import { processesOfEntityType, triggerStatusesOf } from '../store/processes.js';
import { expressionChecker } from './expressions.js';
import type { Transaction } from 'kysely';
import type { Tables } from '../store/schema.js';
import type { CallContext, Services } from './services.js';

export interface EntityTypeView extends EntityTypeDefinition {
  key: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export function toView(stored: StoredEntityType): EntityTypeView {
  const def = JSON.parse(stored.definition) as EntityTypeDefinition;
  return { key: stored.key, version: stored.version, ...def, createdAt: stored.createdAt, updatedAt: stored.updatedAt };
}

/** Creates or replaces a type; an identical definition keeps its version (PUT is idempotent). */
export async function putType(
  services: Services,
  ctx: CallContext,
  key: string,
  body: unknown,
): Promise<{ type: EntityTypeView; created: boolean; warnings: FieldIssue[] }> {
  const { definition, warnings } = parseEntityTypeDefinition(body, expressionChecker);
  const text = JSON.stringify(definition);
  const now = new Date().toISOString();
  const result = await services.database.db.transaction().execute(async (trx) => {
    const put = await putEntityType(trx, ctx.orgId, key, text, now);
    await checkTriggerStatusesKept(trx, ctx.orgId, key, definition);
    return put;
  });
  services.entityTypes.forget(ctx.orgId, key);
  return { type: toView(result.stored), created: result.created, warnings };
}

/**
 * A status that starts a process cannot disappear from under it: ENTITY_TYPE_INVALID naming the processes.
 * Run inside the transaction that writes the type (the type's row lock orders us with process saves).
 */
export async function checkTriggerStatusesKept(trx: Transaction<Tables>, orgId: string, key: string, definition: EntityTypeDefinition): Promise<void> {
  const statuses = new Set(definition.statuses.map((st) => st.key));
  const orphaned = (await triggerStatusesOf(trx, orgId, key)).filter((p) => !statuses.has(p.triggerStatus));
  if (orphaned.length > 0) {
    throw invalid(
      'ENTITY_TYPE_INVALID',
      orphaned.map((p) => ({ path: 'statuses', code: 'status_in_use', message: `status "${p.triggerStatus}" starts process "${p.key}"; change or delete the process first`, process: p.key, status: p.triggerStatus })),
    );
  }
}

export async function getType(services: Services, ctx: CallContext, key: string): Promise<EntityTypeView> {
  const stored = await getEntityType(services.database.db, ctx.orgId, key);
  if (!stored) throw new AppError('ENTITY_TYPE_NOT_FOUND', `No entity type "${key}".`, { entityType: key });
  return toView(stored);
}

/** A page of entity types by key, bounded by `limit` and the page budget; `nextKey` is set when more follow. */
export async function listTypes(services: Services, ctx: CallContext, page: { afterKey?: string; limit: number }): Promise<{ items: EntityTypeView[]; nextKey: string | null }> {
  const { db } = services.database;
  const sizes = await listEntityTypeSizes(db, ctx.orgId, { afterKey: page.afterKey, limit: page.limit + 1 });
  const { items, nextId } = await readBudgetedPage(sizes, page.limit, services.pageBytes, (keys) => listEntityTypes(db, ctx.orgId, keys));
  return { items: items.map(toView), nextKey: nextId };
}

/** 409 ENTITY_TYPE_IN_USE while entities of the type exist or a process uses it. */
export async function deleteType(services: Services, ctx: CallContext, key: string): Promise<void> {
  await services.database.db.transaction().execute((trx) => deleteTypeIn(trx, ctx.orgId, key));
  services.entityTypes.forget(ctx.orgId, key);
}

/** deleteType inside the caller's transaction (definitions as code deletes several things in one); forget the cached type after the commit. */
export async function deleteTypeIn(trx: Transaction<Tables>, orgId: string, key: string): Promise<void> {
  // Postgres: lock the type row first; saves and process PUTs share-lock it, so none can slip in meanwhile.
  await getEntityTypeVersion(trx, orgId, key, 'update');
  if (await hasEntitiesOfType(trx, orgId, key)) {
    throw new AppError('ENTITY_TYPE_IN_USE', `Entity type "${key}" still has entities; delete them first.`, { entityType: key });
  }
  const processes = await processesOfEntityType(trx, orgId, key);
  if (processes.length > 0) {
    const names = processes.map((p) => `"${p}"`).join(', ');
    throw new AppError('ENTITY_TYPE_IN_USE', `Entity type "${key}" is used by process ${names}; delete those processes or point them at another type first.`, {
      entityType: key,
      processes,
    });
  }
  if (!(await deleteEntityType(trx, orgId, key))) {
    throw new AppError('ENTITY_TYPE_NOT_FOUND', `No entity type "${key}".`, { entityType: key });
  }
}
