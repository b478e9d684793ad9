/**
 * Links: (entity, connection, external type) → external id and url, kept by the engine when a task
 * creates or finds a record in a provider. One row per primary key; writing again updates it.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import { iso } from './db.js';
import type { LinksTable, Tables } from './schema.js';

type Executor = Kysely<Tables> | Transaction<Tables>;

export interface StoredLink {
  entityId: string;
  entityType: string;
  connection: string;
  provider: string;
  externalType: string;
  externalId: string;
  url: string | null;
  /** The run that last wrote it. */
  runId: string | null;
  createdAt: string;
  updatedAt: string;
}

export function toStored(row: Selectable<LinksTable>): StoredLink {
  return {
    entityId: row.entity_id,
    entityType: row.entity_type,
    connection: row.connection,
    provider: row.provider,
    externalType: row.external_type,
    externalId: row.external_id,
    url: row.url,
    runId: row.run_id,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** Every link of an entity, ordered by connection and external type (an entity has a handful). */
export async function listLinks(db: Executor, orgId: string, entityId: string, limit = 1000): Promise<StoredLink[]> {
  const rows = await db
    .selectFrom('links')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('entity_id', '=', entityId)
    .orderBy('connection')
    .orderBy('external_type')
    .limit(limit)
    .execute();
  return rows.map(toStored);
}

/** Entities linked to an external record (the links_external index). */
export async function findLinksByExternalId(db: Executor, orgId: string, connection: string, externalType: string, externalId: string): Promise<StoredLink[]> {
  const rows = await db
    .selectFrom('links')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('connection', '=', connection)
    .where('external_type', '=', externalType)
    .where('external_id', '=', externalId)
    .orderBy('entity_id')
    .execute();
  return rows.map(toStored);
}

export interface LinkWrite {
  orgId: string;
  entityId: string;
  entityType: string;
  connection: string;
  provider: string;
  externalType: string;
  externalId: string;
  url: string | null;
  runId: string | null;
}

export type LinkRow = ReturnType<typeof linkRow>;

export function linkRow(link: LinkWrite, now: string) {
  return {
    org_id: link.orgId,
    entity_id: link.entityId,
    entity_type: link.entityType,
    connection: link.connection,
    provider: link.provider,
    external_type: link.externalType,
    external_id: link.externalId,
    url: link.url,
    run_id: link.runId,
    created_at: now,
    updated_at: now,
  };
}

/**
 * The upsert of link rows: each is created, or updated in place (external id, url, run id, updated_at; created_at
 * is kept). links-grouped.ts runs it for many rows on Postgres and compiles it once for SQLite's writer.
 */
export function putLinkQuery(db: Executor, rows: LinkRow | readonly LinkRow[]) {
  return db
    .insertInto('links')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['org_id', 'entity_id', 'connection', 'external_type']).doUpdateSet((eb) => ({
        provider: eb.ref('excluded.provider'),
        external_id: eb.ref('excluded.external_id'),
        url: eb.ref('excluded.url'),
        run_id: eb.ref('excluded.run_id'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    );
}

/** The type of an entity of the organization, or undefined when it does not exist (links name both). */
export async function entityTypeOf(db: Executor, orgId: string, entityId: string): Promise<string | undefined> {
  const row = await db.selectFrom('entities').select('type').where('org_id', '=', orgId).where('id', '=', entityId).executeTakeFirst();
  return row?.type;
}
