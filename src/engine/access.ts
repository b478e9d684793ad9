/** Organizations, API keys and authentication. Keys are random, shown once, stored as sha256. */
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { deleteApiKey, findApiKeyByHash, insertApiKey, listApiKeys, type ApiKey, type Role } from '../store/api-keys.js';
import { firstOrganization, insertOrganization, type Organization } from '../store/organizations.js';
import type { Services } from './services.js';

export const ROLES: readonly Role[] = ['admin', 'editor', 'operator', 'viewer'];

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function generateKey(): string {
  return `sf_${randomBytes(24).toString('base64url')}`;
}

async function storeKey(services: Services, orgId: string, name: string, role: Role, key: string): Promise<ApiKey> {
  const apiKey: ApiKey = { id: newId(), orgId, name, role, keyPrefix: key.slice(0, 7), createdAt: new Date().toISOString() };
  await insertApiKey(services.database.db, apiKey, hashKey(key));
  return apiKey;
}

export interface BootstrapResult {
  organization: Organization;
  /** Set when a key was generated now: print it once, it is not stored. */
  generatedAdminKey?: string;
}

/**
 * First start: creates the default organization and an admin key (`adminKey` when given, else a
 * generated one). Later starts: makes sure a configured `adminKey` still works (so operators can
 * regain access by setting STATUSFLOW_ADMIN_KEY).
 */
export async function bootstrap(services: Services, adminKey: string | undefined): Promise<BootstrapResult> {
  const { db } = services.database;
  let organization = await firstOrganization(db);
  let created = false;
  if (!organization) {
    organization = { id: newId(), name: 'Default organization', createdAt: new Date().toISOString() };
    await insertOrganization(db, organization);
    created = true;
  }
  if (adminKey) {
    if (!(await findApiKeyByHash(db, hashKey(adminKey)))) await storeKey(services, organization.id, 'admin (STATUSFLOW_ADMIN_KEY)', 'admin', adminKey);
    return { organization };
  }
  if (!created) return { organization };
  const key = generateKey();
  await storeKey(services, organization.id, 'admin (first start)', 'admin', key);
  return { organization, generatedAdminKey: key };
}

export interface Principal {
  orgId: string;
  keyId: string;
  keyName: string;
  role: Role;
}

const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;

/** Resolves bearer keys to principals, caching hits for a few seconds (a deleted key stops at once here, within 5 s elsewhere). */
export class Authenticator {
  readonly #cache = new Map<string, { principal: Principal; until: number }>();

  constructor(private readonly services: Services) {}

  async authenticate(key: string): Promise<Principal | undefined> {
    if (key.length < 16 || key.length > 200) return undefined;
    const hash = hashKey(key);
    const hit = this.#cache.get(hash);
    const now = Date.now();
    if (hit && hit.until > now) return hit.principal;
    const row = await findApiKeyByHash(this.services.database.db, hash);
    if (!row) {
      this.#cache.delete(hash);
      return undefined;
    }
    const principal: Principal = { orgId: row.orgId, keyId: row.id, keyName: row.name, role: row.role };
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(hash, { principal, until: now + CACHE_MS });
    return principal;
  }

  forget(hash: string): void {
    this.#cache.delete(hash);
  }
}

export async function createApiKey(services: Services, orgId: string, name: string, role: Role): Promise<{ apiKey: ApiKey; key: string }> {
  const key = generateKey();
  const apiKey = await storeKey(services, orgId, name, role, key);
  return { apiKey, key };
}

export function listKeys(services: Services, orgId: string): Promise<ApiKey[]> {
  return listApiKeys(services.database.db, orgId);
}

/** Deletes a key of the caller's organization; returns its hash for the authenticator's cache. */
export async function removeApiKey(services: Services, orgId: string, id: string, callerKeyId: string): Promise<string> {
  if (id === callerKeyId) throw new AppError('API_KEY_SELF_DELETE', 'An API key cannot delete itself; use another admin key.');
  const hash = await deleteApiKey(services.database.db, orgId, id);
  if (!hash) throw new AppError('API_KEY_NOT_FOUND', `No API key "${id}".`, { id });
  return hash;
}

/** A new organization with its first admin key (shown once). */
export async function createOrganization(services: Services, name: string): Promise<{ organization: Organization; apiKey: ApiKey; key: string }> {
  const organization: Organization = { id: newId(), name, createdAt: new Date().toISOString() };
  return services.database.db.transaction().execute(async (trx) => {
    await insertOrganization(trx, organization);
    const key = generateKey();
    const apiKey: ApiKey = { id: newId(), orgId: organization.id, name: 'admin (organization created)', role: 'admin', keyPrefix: key.slice(0, 7), createdAt: organization.createdAt };
    await insertApiKey(trx, apiKey, hashKey(key));
    return { organization, apiKey, key };
  });
}
