/** Entities and their events. Every query is scoped by org_id. */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { EntitiesTable, EntityEventsTable, Tables } from './schema.js';
import { fromJson, iso } from './db.js';
import type { SqlSync } from './sqlite-writer.js';
import type { Dialect } from './db.js';
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

export async function getEntity(db: Executor, orgId: string, type: string, id: string): Promise<EntityRecord | undefined> {
  const row = await db
    .selectFrom('entities')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('type', '=', type)
    .executeTakeFirst();
  return row && toEntity(row);
}

/** Entities by id (each must also match the org and type given with it); missing ones are left out. */
export async function getEntitiesByIds(db: Executor, keys: ReadonlyArray<{ orgId: string; type: string; id: string }>): Promise<Map<string, EntityRecord>> {
  if (keys.length === 0) return new Map();
  const rows = await db
    .selectFrom('entities')
    .selectAll()
    .where('id', 'in', [...new Set(keys.map((k) => k.id))])
    .execute();
  const wanted = new Set(keys.map((k) => `${k.orgId}\u0000${k.type}\u0000${k.id}`));
  return new Map(rows.filter((r) => wanted.has(`${r.org_id}\u0000${r.type}\u0000${r.id}`)).map((r) => [r.id, toEntity(r)]));
}

/** SQLite fast path of getEntity (inside a SqliteWriter read or write). */
export function getEntitySync(s: SqlSync, orgId: string, type: string, id: string): EntityRecord | undefined {
  const row = s.get<Selectable<EntitiesTable>>('select * from "entities" where "id" = ? and "org_id" = ? and "type" = ?', [id, orgId, type]);
  return row && toEntity(row);
}

export async function insertEntity(trx: Executor, e: EntityRecord): Promise<void> {
  await trx
    .insertInto('entities')
    .values({
      id: e.id,
      org_id: e.orgId,
      type: e.type,
      status: e.status,
      attributes: JSON.stringify(e.attributes),
      version: e.version,
      created_at: e.createdAt,
      updated_at: e.updatedAt,
    })
    .execute();
}

/** SQLite fast path of insertEntity. */
export function insertEntitySync(s: SqlSync, e: EntityRecord): void {
  s.run(
    'insert into "entities" ("id", "org_id", "type", "status", "attributes", "version", "created_at", "updated_at") values (?, ?, ?, ?, ?, ?, ?, ?)',
    [e.id, e.orgId, e.type, e.status, JSON.stringify(e.attributes), e.version, e.createdAt, e.updatedAt],
  );
}

/** SQLite fast path of updateEntity. */
export function updateEntitySync(s: SqlSync, e: EntityRecord, expectedVersion: number): boolean {
  const changed = s.run('update "entities" set "status" = ?, "attributes" = ?, "version" = ?, "updated_at" = ? where "id" = ? and "org_id" = ? and "version" = ?', [
    e.status,
    JSON.stringify(e.attributes),
    e.version,
    e.updatedAt,
    e.id,
    e.orgId,
    expectedVersion,
  ]);
  return changed === 1;
}

/** Writes the new state only if the stored version is still `expectedVersion`; false when it moved. */
export async function updateEntity(trx: Executor, e: EntityRecord, expectedVersion: number): Promise<boolean> {
  const result = await trx
    .updateTable('entities')
    .set({ status: e.status, attributes: JSON.stringify(e.attributes), version: e.version, updated_at: e.updatedAt })
    .where('id', '=', e.id)
    .where('org_id', '=', e.orgId)
    .where('version', '=', expectedVersion)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
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
export async function listEntitySizes(db: Executor, dialect: Dialect, q: ListEntitiesQuery): Promise<SizedRow[]> {
  const bytes = dialect === 'postgres' ? sql<number>`octet_length(attributes::text)` : sql<number>`octet_length(attributes)`;
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

export async function insertEvent(trx: Executor, orgId: string, ev: EntityEvent, causeKey: string | null = null): Promise<void> {
  await trx
    .insertInto('entity_events')
    .values({
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
    })
    .execute();
}

/** SQLite fast path of insertEvent. */
export function insertEventSync(s: SqlSync, orgId: string, ev: EntityEvent, causeKey: string | null = null): void {
  s.run(
    'insert into "entity_events" ("id", "org_id", "entity_id", "entity_type", "entity_version", "kind", "status_before", "status_after", "status_path", "changes", "actor", "created_at", "cause_key") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [ev.id, orgId, ev.entityId, ev.entityType, ev.entityVersion, ev.kind, ev.statusBefore, ev.statusAfter, JSON.stringify(ev.statusPath), JSON.stringify(ev.changes), JSON.stringify(ev.actor), ev.createdAt, causeKey],
  );
}

/** What the write of a save on Postgres needs (see writeEntityAndEvent). */
export interface SaveWriteInput {
  orgId: string;
  /** The entity type version the save was validated against. */
  typeVersion: number;
  entity: EntityRecord;
  /** On update: the stored version read before (the write happens only if it is still that). */
  expectedVersion: number | undefined;
  event: EntityEvent;
  causeKey: string | null;
  /** Statuses entered: the enabled processes they trigger are read in the same statement. */
  entered: readonly string[];
  /**
   * Outside a transaction: write only if the entered statuses trigger no process (runs would need a
   * second statement in the same transaction); otherwise nothing is written and `triggered` says why.
   */
  alone: boolean;
}

export interface SaveWriteOutcome {
  /** The type's current version (share-locked until the transaction ends); undefined if it is gone. */
  typeVersion: number | undefined;
  /** False when the type version differs, (update) the entity moved, or (`alone`) processes are triggered: nothing was written. */
  written: boolean;
  /** Enabled processes the entered statuses trigger, by key. */
  triggered: Array<{ key: string; version: number; triggerStatus: string }>;
}

/**
 * The write of a save on Postgres in one statement, one round trip instead of four: share-lock the
 * entity type row (a concurrent replace or delete of the type waits for this transaction) and check
 * its version, write the entity (insert, or update at the expected version) only if it matches,
 * insert the event only if the entity was written, and read the processes the entered statuses
 * trigger. Atomic by itself; in a transaction when the runs are queued by the next statement.
 */
export async function writeEntityAndEvent(trx: Executor, w: SaveWriteInput): Promise<SaveWriteOutcome> {
  const e = w.entity;
  const ev = w.event;
  const when = w.alone ? sql`t.version = ${w.typeVersion}::int AND NOT EXISTS (SELECT 1 FROM tp)` : sql`t.version = ${w.typeVersion}::int`;
  const write =
    w.expectedVersion === undefined
      ? sql`INSERT INTO entities (id, org_id, type, status, attributes, version, created_at, updated_at)
          SELECT ${e.id}, ${w.orgId}, ${e.type}, ${e.status}, ${JSON.stringify(e.attributes)}::jsonb, ${e.version}::int, ${e.createdAt}::timestamptz, ${e.updatedAt}::timestamptz
          FROM t WHERE ${when}
          RETURNING id`
      : sql`UPDATE entities SET status = ${e.status}, attributes = ${JSON.stringify(e.attributes)}::jsonb, version = ${e.version}::int, updated_at = ${e.updatedAt}::timestamptz
          WHERE id = ${e.id} AND org_id = ${w.orgId} AND version = ${w.expectedVersion}::int AND EXISTS (SELECT 1 FROM t WHERE ${when})
          RETURNING id`;
  const { rows } = await sql<{ type_version: number | null; written: number; triggered: Array<[string, number, string]> }>`
    WITH t AS (
      SELECT version FROM entity_types WHERE org_id = ${w.orgId} AND key = ${e.type} FOR SHARE
    ), tp AS (
      SELECT key, version, trigger_status FROM processes
      WHERE org_id = ${w.orgId} AND entity_type = ${e.type} AND trigger_status = ANY(${[...w.entered]}::text[]) AND enabled
    ), e AS (${write}), ev AS (
      INSERT INTO entity_events (id, org_id, entity_id, entity_type, entity_version, kind, status_before, status_after, status_path, changes, actor, created_at, cause_key)
      SELECT ${ev.id}, ${w.orgId}, e.id, ${ev.entityType}, ${ev.entityVersion}::int, ${ev.kind}, ${ev.statusBefore}::text, ${ev.statusAfter}::text,
        ${JSON.stringify(ev.statusPath)}, ${JSON.stringify(ev.changes)}, ${JSON.stringify(ev.actor)}, ${ev.createdAt}::timestamptz, ${w.causeKey}::text
      FROM e
      RETURNING 1
    )
    SELECT
      (SELECT version FROM t) AS type_version,
      (SELECT count(*) FROM ev)::int AS written,
      COALESCE((SELECT json_agg(json_build_array(key, version, trigger_status) ORDER BY key) FROM tp), '[]'::json) AS triggered`.execute(trx);
  const row = rows[0]!;
  return {
    typeVersion: row.type_version ?? undefined,
    written: row.written === 1,
    triggered: row.triggered.map(([key, version, triggerStatus]) => ({ key, version, triggerStatus })),
  };
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
