/** Organizations (tenants). */
import type { Kysely, Transaction } from 'kysely';
import type { Tables } from './schema.js';
import { iso } from './db.js';

export interface Organization {
  id: string;
  name: string;
  createdAt: string;
}

export async function insertOrganization(db: Kysely<Tables> | Transaction<Tables>, org: Organization): Promise<void> {
  await db.insertInto('organizations').values({ id: org.id, name: org.name, created_at: org.createdAt }).execute();
}

export async function getOrganization(db: Kysely<Tables>, id: string): Promise<Organization | undefined> {
  const row = await db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
  return row && { id: row.id, name: row.name, createdAt: iso(row.created_at) };
}

/** The first organization ever created: the default one. */
export async function firstOrganization(db: Kysely<Tables>): Promise<Organization | undefined> {
  const row = await db.selectFrom('organizations').selectAll().orderBy('id').limit(1).executeTakeFirst();
  return row && { id: row.id, name: row.name, createdAt: iso(row.created_at) };
}
