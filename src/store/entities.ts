/** Entities and their events. Every query is scoped by org_id. */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { Compiled, marksOf, sqliteBuilder } from './compiled.js';
import { adapterOf } from './dialect.js';
import type { EntitiesTable, EntityEventsTable, Tables } from './schema.js';
import { fromJson, iso, type Database } from './db.js';
import type { SqlSync } from './sqlite-writer.js';
import type { SizedRow } from '../domain/page-budget.js';

type Executor = Kysely<Tables> | Transaction<Tables>;

export interface EntityRecord {
  id: string;
  orgId: string;
  type: string;
  status: string;
  attributes: Record<string, unknown>;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface EntityEvent {
  id: string;
  entityId: string;
  entityType: string;
  entityVersion: number;
  kind: 'created' | 'updated' | 'deleted';
  statusBefore: string | null;
  statusAfter: string | null;
  statusPath: string[];
  changes: Record<string, { from?: unknown; to?: unknown }>;
  actor: Record<string, unknown>;
  createdAt: string;
}

export function toEntity(row: Selectable<EntitiesTable>): EntityRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    type: row.type,
    status: row.status,
    attributes: fromJson(row.attributes),
    version: row.version,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

function toEvent(row: Selectable<EntityEventsTable>): EntityEvent {
  return {
    id: row.id,
    entityId: row.entity_id,
    entityType: row.entity_type,
    entityVersion: row.entity_version,
    kind: row.kind as EntityEvent['kind'],
    statusBefore: row.status_before,
    statusAfter: row.status_after,
    statusPath: JSON.parse(row.status_path),
    changes: JSON.parse(row.changes),
    actor: JSON.parse(row.actor),
    createdAt: iso(row.created_at),
  };
}

/** The row of an entity. */
function entityRow(e: EntityRecord) {
  return {
    id: e.id,
    org_id: e.orgId,
    type: e.type,
    status: e.status,
    attributes: JSON.stringify(e.attributes),
    version: e.version,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
}

type EntityKey = { org_id: string; type: string; id: string };
const entityQuery = (db: Executor, k: EntityKey) => db.selectFrom('entities').selectAll().where('id', '=', k.id).where('org_id', '=', k.org_id).where('type', '=', k.type);

export async function getEntity(db: Executor, orgId: string, type: string, id: string): Promise<EntityRecord | undefined> {
  const row = await entityQuery(db, { org_id: orgId, type, id }).executeTakeFirst();
  return row && toEntity(row);
}

/** Entities by id (each must also match the org and type given with it); missing ones are left out. */
export async function getEntitiesByIds(db: Executor, keys: ReadonlyArray<{ orgId: string; type: string; id: string }>): Promise<Map<string, EntityRecord>> {
  if (keys.length === 0) return new Map();
  const rows = await db
    .selectFrom('entities')
    .selectAll()
    .where('id', 'in', [...new Set(keys.map((k) => k.id))])
    .where('org_id', 'in', [...new Set(keys.map((k) => k.orgId))])
    .execute();
  const wanted = new Set(keys.map((k) => `${k.orgId}\u0000${k.type}\u0000${k.id}`));
  return new Map(rows.filter((r) => wanted.has(`${r.org_id}\u0000${r.type}\u0000${r.id}`)).map((r) => [r.id, toEntity(r)]));
}

const GET_ENTITY = new Compiled<EntityKey>((p) => entityQuery(sqliteBuilder, p));

/** getEntity on SQLite, synchronously (inside a SqliteWriter read or write). */
export function getEntitySync(s: SqlSync, orgId: string, type: string, id: string): EntityRecord | undefined {
  const row = GET_ENTITY.get<Selectable<EntitiesTable>>(s, { org_id: orgId, type, id });
  return row && toEntity(row);
}

/** getEntity outside any transaction; on SQLite a cached statement run in the writer's read slot. */
export function readEntityOf(database: Database, orgId: string, type: string, id: string): Promise<EntityRecord | undefined> {
  const sqlite = database.sqlite;
  return sqlite ? sqlite.read((s) => getEntitySync(s, orgId, type, id)) : getEntity(database.db, orgId, type, id);
}

type EntityRow = ReturnType<typeof entityRow>;
const INSERT_ENTITY = new Compiled<EntityRow>(() => sqliteBuilder.insertInto('entities').values(marksOf(entityRow({} as EntityRecord))));

/** Inserts an entity (SQLite, inside a SqliteWriter write; Postgres writes it in saves.ts's statement). */
export function insertEntitySync(s: SqlSync, e: EntityRecord): void {
  INSERT_ENTITY.run(s, entityRow(e));
}

const UPDATE_ENTITY = new Compiled<EntityRow & { expected: number }>((p) =>
  sqliteBuilder
    .updateTable('entities')
    .set({ status: p.status, attributes: p.attributes, version: p.version, updated_at: p.updated_at })
    .where('id', '=', p.id)
    .where('org_id', '=', p.org_id)
    .where('version', '=', p.expected),
);

/** Writes the new state only if the stored version is still `expectedVersion`; false when it moved. */
export function updateEntitySync(s: SqlSync, e: EntityRecord, expectedVersion: number): boolean {
  return UPDATE_ENTITY.run(s, { ...entityRow(e), expected: expectedVersion }) === 1;
}

export async function deleteEntity(trx: Executor, orgId: string, type: string, id: string): Promise<EntityRecord | undefined> {
  const row = await trx
    .deleteFrom('entities')
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('type', '=', type)
    .returningAll()
    .executeTakeFirst();
  return row && toEntity(row);
}

export interface ListEntitiesQuery {
  orgId: string;
  type: string;
  statuses?: readonly string[];
  /** Page after this id (ids are time-ordered; lists run newest first). */
  beforeId?: string;
  limit: number;
}

/** Newest first, using the (org, type, status, id) or (org, type, id) index. */
export async function listEntities(db: Executor, q: ListEntitiesQuery): Promise<EntityRecord[]> {
  let query = db.selectFrom('entities').selectAll().where('org_id', '=', q.orgId).where('type', '=', q.type);
  if (q.statuses && q.statuses.length > 0) query = query.where('status', 'in', q.statuses);
  if (q.beforeId) query = query.where('id', '<', q.beforeId);
  const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
  return rows.map(toEntity);
}

/**
 * The ids and stored attribute sizes (bytes) of the rows listEntities would return, without reading
 * the attributes: SQLite's octet_length reads only the record header (0.7 ms for 300 rows of 1 MB,
 * where a CAST first took 150 ms); Postgres measures the jsonb as text.
 */
export async function listEntitySizes(db: Executor, q: ListEntitiesQuery): Promise<SizedRow[]> {
  const bytes = adapterOf(db).jsonBytes('attributes');
  let query = db.selectFrom('entities').select(['id', bytes.as('bytes')]).where('org_id', '=', q.orgId).where('type', '=', q.type);
  if (q.statuses && q.statuses.length > 0) query = query.where('status', 'in', q.statuses);
  if (q.beforeId) query = query.where('id', '<', q.beforeId);
  return query.orderBy('id', 'desc').limit(q.limit).execute();
}

/** Entities of one org and type by id, in the order of `ids` (ones deleted meanwhile are left out). */
export async function getEntitiesInOrder(db: Executor, orgId: string, type: string, ids: readonly string[]): Promise<EntityRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('entities').selectAll().where('org_id', '=', orgId).where('type', '=', type).where('id', 'in', ids).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [toEntity(row)] : [];
  });
}

export async function hasEntitiesOfType(db: Executor, orgId: string, type: string): Promise<boolean> {
  const row = await db
    .selectFrom('entities')
    .select('id')
    .where('org_id', '=', orgId)
    .where('type', '=', type)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The row of an event. */
function eventRow(orgId: string, ev: EntityEvent, causeKey: string | null) {
  return {
    id: ev.id,
    org_id: orgId,
    entity_id: ev.entityId,
    entity_type: ev.entityType,
    entity_version: ev.entityVersion,
    kind: ev.kind,
    status_before: ev.statusBefore,
    status_after: ev.statusAfter,
    status_path: JSON.stringify(ev.statusPath),
    changes: JSON.stringify(ev.changes),
    actor: JSON.stringify(ev.actor),
    created_at: ev.createdAt,
    cause_key: causeKey,
  };
}

const insertEventQuery = (db: Executor, row: ReturnType<typeof eventRow>) => db.insertInto('entity_events').values(row);

export async function insertEvent(trx: Executor, orgId: string, ev: EntityEvent, causeKey: string | null = null): Promise<void> {
  await insertEventQuery(trx, eventRow(orgId, ev, causeKey)).execute();
}

const INSERT_EVENT = new Compiled<ReturnType<typeof eventRow>>(() => insertEventQuery(sqliteBuilder, marksOf(eventRow('', {} as EntityEvent, null))));

/** insertEvent on SQLite, synchronously (inside a SqliteWriter write). */
export function insertEventSync(s: SqlSync, orgId: string, ev: EntityEvent, causeKey: string | null = null): void {
  INSERT_EVENT.run(s, eventRow(orgId, ev, causeKey));
}

/** True when `err` is the unique violation of a second event with the same cause key (a repeated process step). */
export function isCauseKeyViolation(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e?.code === '23505' && e.constraint === 'entity_events_cause';
}

/** The event a process task's save wrote, found by its cause key (`<run id>:<task key>`). */
export async function findEventByCause(db: Executor, orgId: string, causeKey: string): Promise<EntityEvent | undefined> {
  const row = await db.selectFrom('entity_events').selectAll().where('org_id', '=', orgId).where('cause_key', '=', causeKey).executeTakeFirst();
  return row && toEvent(row);
}

/** True for a unique-constraint violation on either database. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Events of one entity, oldest first. */
export async function listEvents(
  db: Executor,
  orgId: string,
  entityId: string,
  afterId: string | undefined,
  limit: number,
): Promise<EntityEvent[]> {
  let query = db.selectFrom('entity_events').selectAll().where('org_id', '=', orgId).where('entity_id', '=', entityId);
  if (afterId) query = query.where('id', '>', afterId);
  const rows = await query.orderBy('id', 'asc').limit(limit).execute();
  return rows.map(toEvent);
}

/**
 * The ids and stored sizes (bytes) of the events listEvents would return, without reading them. Only
 * `status_path` and `changes` are measured: on SQLite, measuring a column stored after a large one
 * (`actor` follows `changes`) walks that value's overflow pages — 150 pages of 2 MB events took 47 s
 * that way. `actor` is small and counted in the per-item overhead.
 */
export async function listEventSizes(db: Executor, orgId: string, entityId: string, afterId: string | undefined, limit: number): Promise<SizedRow[]> {
  let query = db
    .selectFrom('entity_events')
    .select(['id', sql<number>`octet_length(status_path) + octet_length(changes)`.as('bytes')])
    .where('org_id', '=', orgId)
    .where('entity_id', '=', entityId);
  if (afterId) query = query.where('id', '>', afterId);
  return query.orderBy('id', 'asc').limit(limit).execute();
}

/** Events of one org and entity by id, in the order of `ids`. */
export async function getEventsInOrder(db: Executor, orgId: string, entityId: string, ids: readonly string[]): Promise<EntityEvent[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('entity_events').selectAll().where('org_id', '=', orgId).where('entity_id', '=', entityId).where('id', 'in', ids).orderBy('id', 'asc').execute();
  return rows.map(toEvent);
}

export async function countEvents(db: Executor, orgId: string, entityId?: string): Promise<number> {
  let query = db.selectFrom('entity_events').select((eb) => eb.fn.countAll<number>().as('n')).where('org_id', '=', orgId);
  if (entityId) query = query.where('entity_id', '=', entityId);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}
