/** API keys: only a sha256 of each key is stored. */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { ApiKeysTable, Tables } from './schema.js';
import { iso } from './db.js';

export type Role = 'admin' | 'editor' | 'operator' | 'viewer';

export interface ApiKey {
  id: string;
  orgId: string;
  name: string;
  role: Role;
  keyPrefix: string;
  createdAt: string;
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    role: row.role as Role,
    keyPrefix: row.key_prefix,
    createdAt: iso(row.created_at),
  };
}

export async function insertApiKey(db: Kysely<Tables> | Transaction<Tables>, key: ApiKey, keyHash: string): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      org_id: key.orgId,
      name: key.name,
      role: key.role,
      key_hash: keyHash,
      key_prefix: key.keyPrefix,
      created_at: key.createdAt,
    })
    .execute();
}

/** The key with this hash, of any organization: authentication learns the organization from the key (cross-org on purpose). */
export async function findApiKeyByHash(db: Kysely<Tables>, keyHash: string): Promise<ApiKey | undefined> {
  const row = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
  return row && toApiKey(row);
}

export async function listApiKeys(db: Kysely<Tables>, orgId: string): Promise<ApiKey[]> {
  const rows = await db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).orderBy('id').execute();
  return rows.map(toApiKey);
}

/** Deletes the key; returns its hash (so caches can forget it) or undefined when there was none. */
export async function deleteApiKey(db: Kysely<Tables>, orgId: string, id: string): Promise<string | undefined> {
  const row = await db
    .deleteFrom('api_keys')
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning('key_hash')
    .executeTakeFirst();
  return row?.key_hash;
}

/** Keys of every organization (cross-org on purpose: bootstrap asks whether the installation has any key at all). */
export async function countApiKeys(db: Kysely<Tables>): Promise<number> {
  const row = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
