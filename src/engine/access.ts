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

/** How long a key found in the database is trusted without asking again: the bound on how late other processes see a deletion. */
export const KEY_CACHE_MS = 1_000;
const CACHE_MAX = 10_000;

interface CachedKey {
  principal: Principal;
  /** sha256 of the key, to forget it when it is deleted. */
  hash: string;
  until: number;
}

export interface AuthenticatorOptions {
  /** Default KEY_CACHE_MS. */
  cacheMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * Resolves bearer keys to principals. A key found in the database is cached, by the key itself (so a
 * request that hits the cache costs a map lookup, not a sha256), for `cacheMs`: a key deleted through
 * this process (`forget`) is refused at once, one deleted through another process sharing the database
 * within `cacheMs` (1 s). Concurrent look-ups of the same key share one query. Unknown keys are not cached.
 */
export class Authenticator {
  readonly #cache = new Map<string, CachedKey>();
  readonly #lookups = new Map<string, Promise<Principal | undefined>>();
  readonly #cacheMs: number;
  readonly #now: () => number;
  /** Bumped by forget(): a look-up that started before must not fill the cache. */
  #generation = 0;
  #sweptAt = -Infinity;

  constructor(
    private readonly services: Services,
    options: AuthenticatorOptions = {},
  ) {
    this.#cacheMs = options.cacheMs ?? KEY_CACHE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The principal of a cached, fresh key without waiting; undefined means "ask authenticate()". */
  cached(key: string): Principal | undefined {
    const hit = this.#cache.get(key);
    return hit && hit.until > this.#now() ? hit.principal : undefined;
  }

  authenticate(key: string): Promise<Principal | undefined> {
    if (key.length < 16 || key.length > 200) return Promise.resolve(undefined);
    const principal = this.cached(key);
    if (principal) return Promise.resolve(principal);
    let lookup = this.#lookups.get(key);
    if (!lookup) {
      lookup = this.#lookUp(key).finally(() => {
        if (this.#lookups.get(key) === lookup) this.#lookups.delete(key);
      });
      this.#lookups.set(key, lookup);
    }
    return lookup;
  }

  async #lookUp(key: string): Promise<Principal | undefined> {
    const hash = hashKey(key);
    const generation = this.#generation;
    const started = this.#now();
    const row = await findApiKeyByHash(this.services.database.db, hash);
    if (!row) {
      this.#cache.delete(key);
      return undefined;
    }
    const principal: Principal = { orgId: row.orgId, keyId: row.id, keyName: row.name, role: row.role };
    // forget() ran meanwhile: the row may have been read before the deletion; answer, but do not cache it.
    if (generation !== this.#generation) return principal;
    this.#sweep(started);
    this.#cache.set(key, { principal, hash, until: started + this.#cacheMs });
    return principal;
  }

  /** Drops expired entries (at most once per cacheMs), so keys no longer used do not stay in memory. */
  #sweep(now: number): void {
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    if (now < this.#sweptAt + this.#cacheMs) return;
    this.#sweptAt = now;
    for (const [key, entry] of this.#cache) if (entry.until <= now) this.#cache.delete(key);
  }

  /** The key with this sha256 was deleted: refuse it from now on (and do not trust look-ups already running). */
  forget(hash: string): void {
    for (const [key, entry] of this.#cache) if (entry.hash === hash) this.#cache.delete(key);
    this.#generation++;
    this.#lookups.clear();
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
