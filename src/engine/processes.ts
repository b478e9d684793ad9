/** API process definitions: validate against the entity type and the task kinds, store (versioned), read, delete. */
import { AppError, type FieldIssue } from '../domain/errors.js';
import { isKey } from '../domain/keys.js';
import { parseProcessDefinition, type ProcessDefinition } from '../domain/process.js';
import { TASK_KINDS } from '../connectors/registry.js';
import { getEntityTypeVersion } from '../store/entity-types.js';
import {
  countRunsByStatus,
  deleteProcess as deleteStored,
  emptyRunCounts,
  getProcess as getStored,
  listProcesses as listStored,
  listProcessVersions as listStoredVersions,
  putProcess as putStored,
  type RunCounts,
  type StoredProcess,
} from '../store/processes.js';
import type { LoadedEntityType } from './entity-type-cache.js';
import { expressionChecker } from './expressions.js';
import type { CallContext, Services } from './services.js';

export interface ProcessView extends ProcessDefinition {
  key: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** A process as listed or read: with its runs counted by status. */
export interface ProcessWithRuns extends ProcessView {
  runs: RunCounts;
}

/** One stored version: the definition as it was, with its version number. */
export interface ProcessVersionView extends ProcessDefinition {
  version: number;
  createdAt: string;
}

export function toProcessView(stored: StoredProcess): ProcessView {
  return { key: stored.key, version: stored.version, ...stored.definition, createdAt: stored.createdAt, updatedAt: stored.updatedAt };
}

function notFound(key: string): AppError {
  return new AppError('PROCESS_NOT_FOUND', `No process "${key}".`, { process: key });
}

/** The entity type a body names, or undefined when it names none or one that does not exist. */
async function loadEntityType(services: Services, ctx: CallContext, body: unknown): Promise<LoadedEntityType | undefined> {
  const name = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).entityType : undefined;
  if (typeof name !== 'string' || !isKey(name)) return undefined;
  try {
    return await services.entityTypes.loadFresh(ctx.orgId, name);
  } catch (e) {
    if (e instanceof AppError && e.code === 'ENTITY_TYPE_NOT_FOUND') return undefined;
    throw e;
  }
}

/**
 * Creates or replaces a process; an identical definition keeps its version (PUT is idempotent), any
 * change makes a new version. Throws PROCESS_INVALID / EXPRESSION_INVALID listing every problem.
 */
export async function putProcess(
  services: Services,
  ctx: CallContext,
  key: string,
  body: unknown,
): Promise<{ process: ProcessView; created: boolean; warnings: FieldIssue[] }> {
  const entityType = await loadEntityType(services, ctx, body);
  const { definition, warnings } = parseProcessDefinition(body, {
    entityType: entityType?.definition,
    taskKinds: TASK_KINDS,
    checkExpression: expressionChecker,
    // Connections arrive with their own issue; until then no connection exists.
    connectionProvider: () => undefined,
  });
  const { dialect, db } = services.database;
  const now = new Date().toISOString();
  const result = await db.transaction().execute(async (trx) => {
    // Postgres: share-lock the type row, so a concurrent delete of the type waits for us (and then sees this process).
    const version = await getEntityTypeVersion(trx, ctx.orgId, definition.entityType, dialect === 'postgres' ? 'share' : 'none');
    if (entityType === undefined || version !== entityType.version) {
      services.entityTypes.forget(ctx.orgId, definition.entityType);
      throw new AppError('ENTITY_TYPE_CHANGED', `Entity type "${definition.entityType}" changed while the process was being saved; retry.`, {
        entityType: definition.entityType,
      });
    }
    return putStored(trx, dialect, ctx.orgId, key, definition, now);
  });
  return { process: toProcessView(result.stored), created: result.created, warnings };
}

/** One process with its run counts, or PROCESS_NOT_FOUND. */
export async function getProcess(services: Services, ctx: CallContext, key: string): Promise<ProcessWithRuns> {
  const { db } = services.database;
  const stored = await getStored(db, ctx.orgId, key);
  if (!stored) throw notFound(key);
  const counts = await countRunsByStatus(db, ctx.orgId, key);
  return { ...toProcessView(stored), runs: counts[key] ?? emptyRunCounts() };
}

/** A page of processes ordered by key, each with its run counts; `nextKey` is set when more follow. */
export async function listProcesses(
  services: Services,
  ctx: CallContext,
  page: { afterKey?: string; limit: number },
): Promise<{ items: ProcessWithRuns[]; nextKey: string | null }> {
  const { db } = services.database;
  const rows = await listStored(db, ctx.orgId, { afterKey: page.afterKey, limit: page.limit + 1 });
  const items = rows.slice(0, page.limit);
  const counts = await countRunsByStatus(db, ctx.orgId, items.map((p) => p.key));
  return {
    items: items.map((p) => ({ ...toProcessView(p), runs: counts[p.key] ?? emptyRunCounts() })),
    nextKey: rows.length > page.limit ? items[items.length - 1]!.key : null,
  };
}

/** Versions of an existing process, newest first; `nextVersion` is set when older ones follow. */
export async function listProcessVersions(
  services: Services,
  ctx: CallContext,
  key: string,
  page: { beforeVersion?: number; limit: number },
): Promise<{ items: ProcessVersionView[]; nextVersion: number | null }> {
  const { db } = services.database;
  if (!(await getStored(db, ctx.orgId, key))) throw notFound(key);
  const rows = await listStoredVersions(db, ctx.orgId, key, { beforeVersion: page.beforeVersion, limit: page.limit + 1 });
  const items = rows.slice(0, page.limit).map((v) => ({ version: v.version, ...v.definition, createdAt: v.createdAt }));
  return { items, nextVersion: rows.length > page.limit ? items[items.length - 1]!.version : null };
}

/** Deletes a process. Its runs keep their pinned version (versions are never deleted). */
export async function deleteProcess(services: Services, ctx: CallContext, key: string): Promise<void> {
  if (!(await deleteStored(services.database.db, ctx.orgId, key))) throw notFound(key);
}
