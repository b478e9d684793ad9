/** API process definitions: validate against the entity type and the task kinds, store (versioned), read, delete. */
import type { Transaction } from 'kysely';
import { AppError, invalid, type FieldIssue } from '../domain/errors.js';
import { isKey } from '../domain/keys.js';
import { readBudgetedPage } from '../domain/page-budget.js';
import { parseProcessDefinition, type ProcessDefinition } from '../domain/process.js';
import { TASK_KINDS } from '../connectors/registry.js';
import { getConnection } from '../store/connections.js';
import { getEntityTypeVersion } from '../store/entity-types.js';
import type { Tables } from '../store/schema.js';
import {
  countDueRuns,
  countRunsByStatus,
  deleteProcess as deleteStored,
  emptyRunCounts,
  getProcess as getStored,
  listProcesses as listStored,
  listProcessVersions as listStoredVersions,
  listProcessSizes,
  listProcessVersionSizes,
  putProcess as putStored,
  type RunCounts,
  type StoredProcess,
} from '../store/processes.js';
import { lastFailures, type LastFailure } from '../store/run-failures.js';
import { connectionProvidersOf } from './connections.js';
import type { LoadedEntityType } from './entity-type-cache.js';
import type { EntityTypeDefinition } from '../domain/entity-type.js';
import { expressionChecker } from './expressions.js';
import type { CallContext, Services } from './services.js';

export interface ProcessView extends ProcessDefinition {
  key: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** A process as listed or read: with its runs counted by status, and those held back. */
export interface ProcessWithRuns extends ProcessView {
  runs: RunCounts;
  heldBack: HeldBack;
  /** The newest failed run (by when it finished), null when none failed. */
  lastFailure: LastFailure | null;
}

/** Runs due now that cannot start (docs/processes.md "Concurrency"). */
export interface HeldBack {
  /** Waiting for a slot: more are due than `settings.concurrency` leaves free. */
  concurrency: number;
  /** Held because the process is disabled (they go on when it is enabled again). */
  disabled: number;
}

/** How many of a process's `due` runs its cap or its being disabled holds back now. */
export function heldBackOf(definition: ProcessDefinition, running: number, due: number): HeldBack {
  if (!definition.enabled) return { concurrency: 0, disabled: due };
  return { concurrency: Math.max(0, due - Math.max(0, definition.settings.concurrency - running)), disabled: 0 };
}

/** The process with its run counts and held-back figure, from the per-process counts. */
function withRuns(stored: StoredProcess, counts: Record<string, RunCounts>, due: Record<string, number>, failures: Record<string, LastFailure>): ProcessWithRuns {
  const runs = counts[stored.key] ?? emptyRunCounts();
  const lastFailure = failures[stored.key] ?? null;
  return { ...toProcessView(stored), runs, heldBack: heldBackOf(stored.definition, runs.running, due[stored.key] ?? 0), lastFailure };
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
  // The parser is synchronous: the organization's connections (key → provider) are read first.
  const providers = await connectionProvidersOf(services, ctx.orgId);
  const { definition, warnings } = parseProcessBody(body, entityType?.definition, providers);
  const { db } = services.database;
  const now = new Date().toISOString();
  const result = await db.transaction().execute(async (trx) => {
    // Postgres: share-lock the type row, so a concurrent delete of the type waits for us (and then sees this process).
    const version = await getEntityTypeVersion(trx, ctx.orgId, definition.entityType, 'share');
    if (entityType === undefined || version !== entityType.version) {
      services.entityTypes.forget(ctx.orgId, definition.entityType);
      throw new AppError('ENTITY_TYPE_CHANGED', `Entity type "${definition.entityType}" changed while the process was being saved; retry.`, {
        entityType: definition.entityType,
      });
    }
    await checkConnectionsStillThere(trx, ctx.orgId, definition);
    return putStored(trx, ctx.orgId, key, definition, now);
  });
  // Runs held while the process was disabled, or waiting for a cap that may have been raised, can go
  // on: wake the workers (here and, on Postgres, elsewhere) rather than leave them to their poll.
  if (result.changed && definition.enabled) services.bus.runsQueued();
  return { process: toProcessView(result.stored), created: result.created, warnings };
}

/**
 * Validates a process body against its entity type (undefined: none of that key) and the connections
 * (key → provider) it may use. Throws PROCESS_INVALID / EXPRESSION_INVALID listing every problem.
 */
export function parseProcessBody(body: unknown, entityType: EntityTypeDefinition | undefined, providers: ReadonlyMap<string, string>): { definition: ProcessDefinition; warnings: FieldIssue[] } {
  return parseProcessDefinition(body, {
    entityType,
    taskKinds: TASK_KINDS,
    checkExpression: expressionChecker,
    connectionProvider: (key) => providers.get(key),
  });
}

/**
 * The connections the tasks name must still exist when the process is written. Share-locked (Postgres)
 * them, so a concurrent delete of one waits for us (and then sees this process) or went first (and
 * we refuse here).
 */
export async function checkConnectionsStillThere(trx: Transaction<Tables>, orgId: string, definition: ProcessDefinition): Promise<void> {
  const keys = [...new Set(definition.tasks.map((t) => t.connection).filter((k): k is string => k !== undefined))];
  const issues: FieldIssue[] = [];
  for (const connection of keys) {
    if (!(await getConnection(trx, orgId, connection, 'share'))) {
      const i = definition.tasks.findIndex((t) => t.connection === connection);
      issues.push({ path: `tasks[${i}].connection`, code: 'unknown_connection', message: `there is no connection "${connection}"` });
    }
  }
  if (issues.length > 0) throw invalid('PROCESS_INVALID', issues);
}

/** One process with its run counts, or PROCESS_NOT_FOUND. */
export async function getProcess(services: Services, ctx: CallContext, key: string): Promise<ProcessWithRuns> {
  const { db } = services.database;
  const stored = await getStored(db, ctx.orgId, key);
  if (!stored) throw notFound(key);
  const counts = await countRunsByStatus(db, ctx.orgId, key);
  return withRuns(stored, counts, await countDueRuns(db, ctx.orgId, [key], services.clock.now()), await lastFailures(db, ctx.orgId, [key]));
}

/** A page of processes ordered by key, each with its run counts; `nextKey` is set when more follow. */
export async function listProcesses(
  services: Services,
  ctx: CallContext,
  page: { afterKey?: string; limit: number },
): Promise<{ items: ProcessWithRuns[]; nextKey: string | null }> {
  const { db } = services.database;
  const sizes = await listProcessSizes(db, ctx.orgId, { afterKey: page.afterKey, limit: page.limit + 1 });
  const { items, nextId } = await readBudgetedPage(sizes, page.limit, services.pageBytes, (keys) => listStored(db, ctx.orgId, { keys }));
  const keys = items.map((p) => p.key);
  const counts = await countRunsByStatus(db, ctx.orgId, keys);
  const due = await countDueRuns(db, ctx.orgId, keys, services.clock.now());
  const failures = await lastFailures(db, ctx.orgId, keys);
  return { items: items.map((p) => withRuns(p, counts, due, failures)), nextKey: nextId };
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
  const sizes = await listProcessVersionSizes(db, ctx.orgId, key, { beforeVersion: page.beforeVersion, limit: page.limit + 1 });
  const { items: rows, nextId } = await readBudgetedPage(sizes, page.limit, services.pageBytes, (versions) =>
    listStoredVersions(db, ctx.orgId, key, { versions: versions.map(Number) }),
  );
  const items = rows.map((v) => ({ version: v.version, ...v.definition, createdAt: v.createdAt }));
  return { items, nextVersion: nextId === null ? null : Number(nextId) };
}

/** Deletes a process. Its runs keep their pinned version (versions are never deleted). */
export async function deleteProcess(services: Services, ctx: CallContext, key: string): Promise<void> {
  if (!(await deleteStored(services.database.db, ctx.orgId, key))) throw notFound(key);
}
