/**
 * Parsed entity type definitions, cached by (org, key, version). `load` trusts the cache; the save
 * pipeline then checks the version inside its write transaction (one indexed lookup) and retries with
 * a fresh definition when another request or process replaced the type meanwhile. `loadFresh` checks
 * the version first (for reads that are not followed by such a check).
 */
import type { EntityTypeDefinition } from '../domain/entity-type.js';
import { AppError } from '../domain/errors.js';
import type { Database } from '../store/db.js';
import { getEntityType, getEntityTypeVersion } from '../store/entity-types.js';

export interface LoadedEntityType {
  key: string;
  version: number;
  definition: EntityTypeDefinition;
  /** Requirement conditions in definition order, ready for evaluateMany. */
  conditions: string[];
}

const MAX_CACHED = 5_000;

export class EntityTypeCache {
  readonly #cache = new Map<string, LoadedEntityType>();

  constructor(private readonly database: Database) {}

  /** The cached definition (possibly stale: verify `version` in the transaction), or ENTITY_TYPE_NOT_FOUND. */
  async load(orgId: string, key: string): Promise<LoadedEntityType> {
    return this.#cache.get(`${orgId}\u0000${key}`) ?? this.loadFresh(orgId, key);
  }

  /** The current definition, or ENTITY_TYPE_NOT_FOUND. */
  async loadFresh(orgId: string, key: string): Promise<LoadedEntityType> {
    const cacheKey = `${orgId}\u0000${key}`;
    const cached = this.#cache.get(cacheKey);
    if (cached) {
      const version = await getEntityTypeVersion(this.database.db, orgId, key);
      if (version === cached.version) return cached;
      if (version === undefined) {
        this.#cache.delete(cacheKey);
        throw notFound(key);
      }
    }
    const stored = await getEntityType(this.database.db, orgId, key);
    if (!stored) throw notFound(key);
    const definition = JSON.parse(stored.definition) as EntityTypeDefinition;
    const loaded: LoadedEntityType = {
      key,
      version: stored.version,
      definition,
      conditions: definition.requirements.map((r) => r.condition),
    };
    if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(cacheKey, loaded);
    return loaded;
  }

  forget(orgId: string, key: string): void {
    this.#cache.delete(`${orgId}\u0000${key}`);
  }
}

function notFound(key: string): AppError {
  return new AppError('ENTITY_TYPE_NOT_FOUND', `No entity type "${key}".`, { entityType: key });
}
