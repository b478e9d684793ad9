/** What the engine needs to run: the database and the expression evaluator, passed explicitly (no globals). */
import type { Evaluator } from '../expr/index.js';
import type { Database } from '../store/db.js';
import { EntityTypeCache } from './entity-type-cache.js';
import { KeyedLock } from './keyed-lock.js';

export interface Services {
  database: Database;
  evaluator: Evaluator;
  entityTypes: EntityTypeCache;
  /** Serialises saves of one entity within this process. */
  entityLocks: KeyedLock;
}

export function createServices(database: Database, evaluator: Evaluator): Services {
  return { database, evaluator, entityTypes: new EntityTypeCache(database), entityLocks: new KeyedLock() };
}

/** Who is acting: recorded on events. */
export interface Actor {
  type: 'api_key' | 'system';
  id: string;
  name?: string;
}

/** The caller of an engine operation: their organization and who they are. */
export interface CallContext {
  orgId: string;
  actor: Actor;
}
