/**
 * Process definitions: the current version per (org, key) plus every version ever stored (runs are
 * pinned to one, so versions outlive a deleted process). Every query is scoped by org_id.
 */
import { sql, type Kysely, type Selectable, type SqlBool, type Transaction } from 'kysely';
import type { ProcessDefinition } from '../domain/process.js';
import { CompiledShapes, listMarks, sqliteBuilder } from './compiled.js';
import { adapterOf, locked, type RowLock } from './dialect.js';
import { iso } from './db.js';
import type { SqlSync } from './sqlite-writer.js';
import type { SizedRow } from '../domain/page-budget.js';
import type { ProcessesTable, Tables } from './schema.js';

export type Executor = Kysely<Tables> | Transaction<Tables>;

export interface StoredProcess {
  orgId: string;
  key: string;
  version: number;
  definition: ProcessDefinition;
  createdAt: string;
  updatedAt: string;
}

/** One stored version of a process (what a run pinned to it executes). */
export interface StoredProcessVersion {
  key: string;
  version: number;
  definition: ProcessDefinition;
  createdAt: string;
}

export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;
export type RunCounts = Record<(typeof RUN_STATUSES)[number], number>;

export function emptyRunCounts(): RunCounts {
  return { queued: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, cancelled: 0 };
}


function toStored(row: Selectable<ProcessesTable>): StoredProcess {
  return {
    orgId: row.org_id,
    key: row.key,
    version: row.version,
    definition: JSON.parse(row.definition) as ProcessDefinition,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The current version, or undefined. `lock` (in a transaction) keeps the row as read until the commit. */
export async function getProcess(db: Executor, orgId: string, key: string, lock: RowLock | 'none' = 'none'): Promise<StoredProcess | undefined> {
  const row = await locked(db, db.selectFrom('processes').selectAll().where('org_id', '=', orgId).where('key', '=', key), lock).executeTakeFirst();
  return row && toStored(row);
}

/** Processes ordered by key; `afterKey` and `limit` page through them, `keys` picks some. */
export async function listProcesses(db: Executor, orgId: string, page: { afterKey?: string; limit?: number; keys?: readonly string[] } = {}): Promise<StoredProcess[]> {
  let query = db.selectFrom('processes').selectAll().where('org_id', '=', orgId);
  if (page.afterKey !== undefined) query = query.where('key', '>', page.afterKey);
  if (page.keys !== undefined) query = query.where('key', 'in', page.keys.length > 0 ? page.keys : ['']);
  if (page.limit !== undefined) query = query.limit(page.limit);
  return (await query.orderBy('key').execute()).map(toStored);
}

/** The keys and stored definition sizes (bytes) of the processes listProcesses would return, without reading them. */
export async function listProcessSizes(db: Executor, orgId: string, page: { afterKey?: string; limit: number }): Promise<SizedRow[]> {
  let query = db.selectFrom('processes').select(['key as id', sql<number>`octet_length(definition)`.as('bytes')]).where('org_id', '=', orgId);
  if (page.afterKey !== undefined) query = query.where('key', '>', page.afterKey);
  return query.orderBy('key').limit(page.limit).execute();
}

/**
 * Creates or replaces a process. An identical definition keeps its version (changed: false); otherwise
 * the version goes up by one and is kept in process_versions. A process deleted and created again
 * continues its version history. Must run inside a transaction (it reads, then writes).
 */
export async function putProcess(
  trx: Transaction<Tables>,
  orgId: string,
  key: string,
  definition: ProcessDefinition,
  now: string,
): Promise<{ stored: StoredProcess; created: boolean; changed: boolean }> {
  const text = JSON.stringify(definition);
  const existing = await getProcess(trx, orgId, key, 'update');
  if (existing && JSON.stringify(existing.definition) === text) return { stored: existing, created: false, changed: false };
  const last = existing?.version ?? (await lastVersion(trx, orgId, key));
  const version = last + 1;
  const columns = {
    version,
    entity_type: definition.entityType,
    trigger_status: 'status' in definition.trigger ? definition.trigger.status : null,
    enabled: adapterOf(trx).bool(definition.enabled),
    definition: text,
    updated_at: now,
  };
  if (existing) {
    await trx.updateTable('processes').set(columns).where('org_id', '=', orgId).where('key', '=', key).execute();
  } else {
    await trx.insertInto('processes').values({ org_id: orgId, key, created_at: now, ...columns }).execute();
  }
  await trx.insertInto('process_versions').values({ org_id: orgId, key, version, definition: text, created_at: now }).execute();
  const stored: StoredProcess = { orgId, key, version, definition, createdAt: existing?.createdAt ?? now, updatedAt: now };
  return { stored, created: !existing, changed: true };
}

async function lastVersion(db: Executor, orgId: string, key: string): Promise<number> {
  const row = await db
    .selectFrom('process_versions')
    .select((eb) => eb.fn.max('version').as('v'))
    .where('org_id', '=', orgId)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(row?.v ?? 0);
}

/** Deletes the current definition; its versions stay (runs are pinned to them). False when there was none. */
export async function deleteProcess(db: Executor, orgId: string, key: string): Promise<boolean> {
  const result = await db.deleteFrom('processes').where('org_id', '=', orgId).where('key', '=', key).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** One version (also of a deleted process), or undefined. */
export async function getProcessVersion(db: Executor, orgId: string, key: string, version: number): Promise<StoredProcessVersion | undefined> {
  const row = await db
    .selectFrom('process_versions')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('key', '=', key)
    .where('version', '=', version)
    .executeTakeFirst();
  return row && { key: row.key, version: row.version, definition: JSON.parse(row.definition) as ProcessDefinition, createdAt: iso(row.created_at) };
}

/** Versions newest first; `beforeVersion` and `limit` page through them. */
export async function listProcessVersions(
  db: Executor,
  orgId: string,
  key: string,
  page: { beforeVersion?: number; limit?: number; versions?: readonly number[] } = {},
): Promise<StoredProcessVersion[]> {
  let query = db.selectFrom('process_versions').selectAll().where('org_id', '=', orgId).where('key', '=', key);
  if (page.beforeVersion !== undefined) query = query.where('version', '<', page.beforeVersion);
  if (page.versions !== undefined) query = query.where('version', 'in', page.versions.length > 0 ? page.versions : [-1]);
  if (page.limit !== undefined) query = query.limit(page.limit);
  const rows = await query.orderBy('version', 'desc').execute();
  return rows.map((row) => ({ key: row.key, version: row.version, definition: JSON.parse(row.definition) as ProcessDefinition, createdAt: iso(row.created_at) }));
}

/** The versions (as text) and stored definition sizes (bytes) listProcessVersions would return, without reading them. */
export async function listProcessVersionSizes(db: Executor, orgId: string, key: string, page: { beforeVersion?: number; limit: number }): Promise<SizedRow[]> {
  let query = db
    .selectFrom('process_versions')
    .select([sql<string>`cast(version as text)`.as('id'), sql<number>`octet_length(definition)`.as('bytes')])
    .where('org_id', '=', orgId)
    .where('key', '=', key);
  if (page.beforeVersion !== undefined) query = query.where('version', '<', page.beforeVersion);
  return query.orderBy('version', 'desc').limit(page.limit).execute();
}

/**
 * Enabled processes of `entityType` whose trigger status is one of `statuses`, ordered by key: the save
 * pipeline's lookup, one query on the processes_trigger index (org_id, entity_type, trigger_status).
 */
export async function findTriggeredProcesses(db: Executor, orgId: string, entityType: string, statuses: readonly string[]): Promise<TriggeredProcess[]> {
  if (statuses.length === 0) return [];
  const rows = await triggeredQuery(db, orgId, entityType, statuses).execute();
  return rows.map((r) => ({ key: r.key, version: r.version, triggerStatus: r.trigger_status! }));
}

/** An enabled process a status triggers. */
export interface TriggeredProcess {
  key: string;
  version: number;
  triggerStatus: string;
}

const triggeredQuery = (db: Executor, orgId: string, entityType: string, statuses: readonly string[]) =>
  db
    .selectFrom('processes')
    .select(['key', 'version', 'trigger_status'])
    .where('org_id', '=', orgId)
    .where('entity_type', '=', entityType)
    .where('trigger_status', 'in', statuses)
    // A bare column is a condition on both databases (Postgres BOOLEAN, SQLite 0/1).
    .where(sql<SqlBool>`enabled`)
    .orderBy('key');

const TRIGGERED = new CompiledShapes<Record<string, string>>((p, n) =>
  triggeredQuery(sqliteBuilder, p.org!, p.type!, Array.from({ length: Number(n) }, (_, i) => p[`s${i}`]!)),
);

/** findTriggeredProcesses on SQLite, synchronously (inside the save's SqliteWriter write). */
export function findTriggeredProcessesSync(s: SqlSync, orgId: string, entityType: string, statuses: readonly string[]): TriggeredProcess[] {
  if (statuses.length === 0) return [];
  const rows = TRIGGERED.of(String(statuses.length)).all<{ key: string; version: number; trigger_status: string }>(s, { org: orgId, type: entityType, ...listMarks('s', statuses) });
  return rows.map((r) => ({ key: r.key, version: r.version, triggerStatus: r.trigger_status }));
}

/** Keys of processes that use an entity type (at most `limit`), ordered by key. */
export async function processesOfEntityType(db: Executor, orgId: string, entityType: string, limit = 10): Promise<string[]> {
  const rows = await db
    .selectFrom('processes')
    .select('key')
    .where('org_id', '=', orgId)
    .where('entity_type', '=', entityType)
    .orderBy('key')
    .limit(limit)
    .execute();
  return rows.map((r) => r.key);
}

/**
 * Runs per process and status (runs_org_process index). Only processes with runs appear; their
 * counts include every status, zero when none. `processKey` narrows to one process or a few.
 */
export async function countRunsByStatus(db: Executor, orgId: string, processKey?: string | readonly string[]): Promise<Record<string, RunCounts>> {
  let query = db
    .selectFrom('runs')
    .select(['process', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('org_id', '=', orgId);
  if (typeof processKey === 'string') query = query.where('process', '=', processKey);
  else if (processKey !== undefined) {
    if (processKey.length === 0) return {};
    query = query.where('process', 'in', processKey);
  }
  const rows = await query.groupBy(['org_id', 'process', 'status']).execute();
  // No prototype: a process may well be called "constructor".
  const out = Object.create(null) as Record<string, RunCounts>;
  for (const row of rows) {
    const counts = (out[row.process] ??= emptyRunCounts());
    if ((RUN_STATUSES as readonly string[]).includes(row.status)) counts[row.status as keyof RunCounts] += Number(row.n);
  }
  return out;
}

/**
 * Runs due now (queued, or waiting whose time has come) per process of `keys`: what workers could start
 * if they had a slot. Only processes with such runs appear.
 */
export async function countDueRuns(db: Executor, orgId: string, keys: readonly string[], now: number): Promise<Record<string, number>> {
  if (keys.length === 0) return {};
  const rows = await db
    .selectFrom('runs')
    .select(['process', (eb) => eb.fn.countAll<number>().as('n')])
    .where('org_id', '=', orgId)
    .where('process', 'in', keys)
    .where('status', 'in', ['queued', 'waiting'])
    .where('available_at', '<=', now)
    .groupBy('process')
    .execute();
  const out = Object.create(null) as Record<string, number>;
  for (const row of rows) out[row.process] = Number(row.n);
  return out;
}

/** Processes of an entity type started by a status, with that status (an edit of the type must keep them). */
export async function triggerStatusesOf(db: Executor, orgId: string, entityType: string): Promise<Array<{ key: string; triggerStatus: string }>> {
  const rows = await db
    .selectFrom('processes')
    .select(['key', 'trigger_status'])
    .where('org_id', '=', orgId)
    .where('entity_type', '=', entityType)
    .where('trigger_status', 'is not', null)
    .orderBy('key')
    .execute();
  return rows.map((r) => ({ key: r.key, triggerStatus: r.trigger_status! }));
}

/** Keys of the processes whose current definition has a task using `connection`, ordered by key. */
export async function processesUsing(db: Executor, orgId: string, connection: string): Promise<string[]> {
  // Definitions are stored as JSON.stringify output, so a task's connection reads exactly `"connection":"<key>"`;
  // LIKE narrows the rows (its `_` wildcard only widens the match), the parse decides.
  const rows = await db
    .selectFrom('processes')
    .select(['key', 'definition'])
    .where('org_id', '=', orgId)
    .where('definition', 'like', `%"connection":"${connection}"%`)
    .orderBy('key')
    .execute();
  return rows.filter((r) => (JSON.parse(r.definition) as ProcessDefinition).tasks.some((t) => t.connection === connection)).map((r) => r.key);
}
