/** Entity types: the current definition per (org, key) plus every earlier version. */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { SizedRow } from '../domain/page-budget.js';
import type { EntityTypesTable, Tables } from './schema.js';
import { iso } from './db.js';
import type { SqlSync } from './sqlite-writer.js';
import { Compiled, sqliteBuilder } from './compiled.js';
import { locked, type RowLock } from './dialect.js';

type Executor = Kysely<Tables> | Transaction<Tables>;

export interface StoredEntityType {
  orgId: string;
  key: string;
  version: number;
  /** Normalised definition (JSON text as stored; parse with the domain's types). */
  definition: string;
  createdAt: string;
  updatedAt: string;
}

function toStored(row: Selectable<EntityTypesTable>): StoredEntityType {
  return {
    orgId: row.org_id,
    key: row.key,
    version: row.version,
    definition: row.definition,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export async function getEntityType(
  db: Executor,
  orgId: string,
  key: string,
  lock: RowLock | 'none' = 'none',
): Promise<StoredEntityType | undefined> {
  const row = await locked(db, db.selectFrom('entity_types').selectAll().where('org_id', '=', orgId).where('key', '=', key), lock).executeTakeFirst();
  return row && toStored(row);
}

const versionQuery = (db: Executor, orgId: string, key: string) => db.selectFrom('entity_types').select('version').where('org_id', '=', orgId).where('key', '=', key);

/**
 * Only the version: cheap check that a cached definition is still current. With `lock` (inside a
 * transaction; Postgres, see dialect.ts) the row is locked, so a concurrent replace or delete of the type waits for us.
 */
export async function getEntityTypeVersion(db: Executor, orgId: string, key: string, lock: RowLock | 'none' = 'none'): Promise<number | undefined> {
  const row = await locked(db, versionQuery(db, orgId, key), lock).executeTakeFirst();
  return row?.version;
}

const TYPE_VERSION = new Compiled<{ org: string; key: string }>((p) => versionQuery(sqliteBuilder, p.org, p.key));

/** getEntityTypeVersion on SQLite, synchronously (the single writer needs no lock). */
export function getEntityTypeVersionSync(s: SqlSync, orgId: string, key: string): number | undefined {
  return TYPE_VERSION.get<{ version: number }>(s, { org: orgId, key })?.version;
}

/** Entity types ordered by key; `keys` picks some. */
export async function listEntityTypes(db: Executor, orgId: string, keys?: readonly string[]): Promise<StoredEntityType[]> {
  let query = db.selectFrom('entity_types').selectAll().where('org_id', '=', orgId);
  if (keys !== undefined) query = query.where('key', 'in', keys.length > 0 ? keys : ['']);
  const rows = await query.orderBy('key').execute();
  return rows.map(toStored);
}

/** The keys and stored definition sizes (bytes) of entity types after `afterKey`, by key, without reading them. */
export async function listEntityTypeSizes(db: Executor, orgId: string, page: { afterKey?: string; limit: number }): Promise<SizedRow[]> {
  let query = db.selectFrom('entity_types').select(['key as id', sql<number>`octet_length(definition)`.as('bytes')]).where('org_id', '=', orgId);
  if (page.afterKey !== undefined) query = query.where('key', '>', page.afterKey);
  return query.orderBy('key').limit(page.limit).execute();
}

/**
 * Creates or replaces a type. Unchanged definitions keep their version. Returns the stored row and
 * whether it was created. Must run inside a transaction (it reads, then writes).
 */
export async function putEntityType(
  trx: Transaction<Tables>,
  orgId: string,
  key: string,
  definition: string,
  now: string,
): Promise<{ stored: StoredEntityType; created: boolean; changed: boolean }> {
  // Locked (Postgres) so that saves in flight finish first.
  const existing = await getEntityType(trx, orgId, key, 'update');
  if (existing && existing.definition === definition) return { stored: existing, created: false, changed: false };
  // A type deleted and created again continues its version history.
  const last = existing
    ? existing.version
    : ((
        await trx
          .selectFrom('entity_type_versions')
          .select((eb) => eb.fn.max('version').as('v'))
          .where('org_id', '=', orgId)
          .where('key', '=', key)
          .executeTakeFirst()
      )?.v ?? 0);
  const version = Number(last) + 1;
  if (existing) {
    await trx
      .updateTable('entity_types')
      .set({ version, definition, updated_at: now })
      .where('org_id', '=', orgId)
      .where('key', '=', key)
      .execute();
  } else {
    await trx
      .insertInto('entity_types')
      .values({ org_id: orgId, key, version, definition, created_at: now, updated_at: now })
      .execute();
  }
  await trx
    .insertInto('entity_type_versions')
    .values({ org_id: orgId, key, version, definition, created_at: now })
    .execute();
  const stored = { orgId, key, version, definition, createdAt: existing?.createdAt ?? now, updatedAt: now };
  return { stored, created: !existing, changed: true };
}

/** Deletes the type. On Postgres lock it first (`getEntityTypeVersion(..., 'update')`) before checking for entities. */
export async function deleteEntityType(trx: Transaction<Tables>, orgId: string, key: string): Promise<boolean> {
  const result = await trx.deleteFrom('entity_types').where('org_id', '=', orgId).where('key', '=', key).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
