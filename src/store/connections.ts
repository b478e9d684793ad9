/**
 * Connections: one row per (org, key) with the provider's settings in plain JSON and the secrets as an
 * encrypted blob (sealed and opened by engine/secrets.ts; this module never sees them in clear).
 */
import { locked, type RowLock } from './dialect.js';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { iso } from './db.js';
import type { ConnectionsTable, Tables } from './schema.js';

type Executor = Kysely<Tables> | Transaction<Tables>;

export interface StoredConnection {
  orgId: string;
  key: string;
  provider: string;
  name: string;
  config: Record<string, unknown>;
  /** The encrypted blob, as stored. */
  sealedSecrets: string;
  /** Names of the secret fields. */
  secretNames: string[];
  createdAt: string;
  updatedAt: string;
}

function toStored(row: Selectable<ConnectionsTable>): StoredConnection {
  return {
    orgId: row.org_id,
    key: row.key,
    provider: row.provider,
    name: row.name,
    config: JSON.parse(row.config) as Record<string, unknown>,
    sealedSecrets: row.secrets,
    secretNames: JSON.parse(row.secret_names) as string[],
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** One connection, or undefined. `lock` (in a transaction; taken on Postgres, see dialect.ts): `update` before a delete, `share` to keep it while a process referencing it is saved. */
export async function getConnection(db: Executor, orgId: string, key: string, lock: RowLock | 'none' = 'none'): Promise<StoredConnection | undefined> {
  const row = await locked(db, db.selectFrom('connections').selectAll().where('org_id', '=', orgId).where('key', '=', key), lock).executeTakeFirst();
  return row && toStored(row);
}

/** Connections ordered by key; `afterKey` and `limit` page through them. */
export async function listConnections(db: Executor, orgId: string, page: { afterKey?: string; limit?: number } = {}): Promise<StoredConnection[]> {
  let query = db.selectFrom('connections').selectAll().where('org_id', '=', orgId);
  if (page.afterKey !== undefined) query = query.where('key', '>', page.afterKey);
  if (page.limit !== undefined) query = query.limit(page.limit);
  return (await query.orderBy('key').execute()).map(toStored);
}

/** Provider of every connection of the organization, by key (what the process parser needs). */
export async function connectionProviders(db: Executor, orgId: string): Promise<Map<string, string>> {
  const rows = await db.selectFrom('connections').select(['key', 'provider']).where('org_id', '=', orgId).execute();
  return new Map(rows.map((r) => [r.key, r.provider]));
}

/** The updated_at of a connection (a cheap freshness check for caches), or undefined. */
export async function connectionUpdatedAt(db: Executor, orgId: string, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('connections').select('updated_at').where('org_id', '=', orgId).where('key', '=', key).executeTakeFirst();
  return row && iso(row.updated_at);
}

export interface ConnectionWrite {
  orgId: string;
  key: string;
  provider: string;
  name: string;
  config: Record<string, unknown>;
  sealedSecrets: string;
  secretNames: string[];
}

/** Inserts or replaces a connection; `createdAt` of an existing one is kept. */
export async function writeConnection(db: Executor, c: ConnectionWrite, existing: StoredConnection | undefined, now: string): Promise<StoredConnection> {
  const columns = {
    provider: c.provider,
    name: c.name,
    config: JSON.stringify(c.config),
    secrets: c.sealedSecrets,
    secret_names: JSON.stringify(c.secretNames),
    updated_at: now,
  };
  if (existing) {
    await db.updateTable('connections').set(columns).where('org_id', '=', c.orgId).where('key', '=', c.key).execute();
  } else {
    await db.insertInto('connections').values({ org_id: c.orgId, key: c.key, created_at: now, ...columns }).execute();
  }
  return { ...c, createdAt: existing?.createdAt ?? now, updatedAt: now };
}

/** Deletes a connection; false when there was none. */
export async function deleteConnection(db: Executor, orgId: string, key: string): Promise<boolean> {
  const result = await db.deleteFrom('connections').where('org_id', '=', orgId).where('key', '=', key).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Replaces the sealed secrets only (key rotation); updated_at is left alone. */
export async function resealSecrets(db: Executor, orgId: string, key: string, sealedSecrets: string): Promise<void> {
  await db.updateTable('connections').set({ secrets: sealedSecrets }).where('org_id', '=', orgId).where('key', '=', key).execute();
}

/** Every connection's sealed secrets across organizations (on purpose: one secret key seals them all), for re-encryption with a new key. */
export async function allSealedSecrets(db: Executor): Promise<Array<{ orgId: string; key: string; sealedSecrets: string }>> {
  const rows = await db.selectFrom('connections').select(['org_id', 'key', 'secrets']).orderBy('org_id').orderBy('key').execute();
  return rows.map((r) => ({ orgId: r.org_id, key: r.key, sealedSecrets: r.secrets }));
}
