/** Process definitions by (org, key, version). A version never changes once written, so it is cached. */
import type { ProcessDefinition } from '../domain/process.js';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/db.js';
import type { Tables } from '../store/schema.js';
import { getProcessVersion } from '../store/processes.js';

const MAX = 2_000;

export class ProcessVersionCache {
  readonly #cache = new Map<string, ProcessDefinition>();

  constructor(private readonly database: Database) {}

  /** The cached definition, without touching the database (undefined: not cached). */
  peek(orgId: string, key: string, version: number): ProcessDefinition | undefined {
    return this.#cache.get(`${orgId}\u0000${key}\u0000${version}`);
  }

  /** `db`: pass the open transaction when called inside one (SQLite has a single connection). */
  async load(orgId: string, key: string, version: number, db: Kysely<Tables> | Transaction<Tables> = this.database.db): Promise<ProcessDefinition | undefined> {
    const cacheKey = `${orgId}\u0000${key}\u0000${version}`;
    const hit = this.#cache.get(cacheKey);
    if (hit) return hit;
    const definition = (await getProcessVersion(db, orgId, key, version))?.definition;
    if (!definition) return undefined;
    if (this.#cache.size >= MAX) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(cacheKey, definition);
    return definition;
  }
}
