/** What the engine needs to run: the database and the expression evaluator, passed explicitly (no globals). */
import type { Evaluator } from '../expr/index.js';
import type { Database } from '../store/db.js';
import { EntityTypeCache } from './entity-type-cache.js';
import { KeyedLock } from './keyed-lock.js';
import { Bus } from './bus.js';
import { ProcessVersionCache } from './process-cache.js';

export interface Services {
  database: Database;
  evaluator: Evaluator;
  entityTypes: EntityTypeCache;
  /** Serialises saves of one entity within this process. */
  entityLocks: KeyedLock;
  /** Process versions by (org, key, version): immutable, so cached. */
  processVersions: ProcessVersionCache;
  bus: Bus;
  /** Loop protection: how often one process may re-enter itself for one entity in a cause chain. */
  loopLimit: number;
}

export function createServices(database: Database, evaluator: Evaluator, options: { loopLimit?: number } = {}): Services {
  return {
    database,
    evaluator,
    entityTypes: new EntityTypeCache(database),
    entityLocks: new KeyedLock(),
    processVersions: new ProcessVersionCache(database),
    bus: new Bus(),
    loopLimit: options.loopLimit ?? 3,
  };
}

/** Who is acting: recorded on events. */
export interface Actor {
  type: 'api_key' | 'run' | 'system';
  id: string;
  name?: string;
  /** For runs: the process. */
  process?: string;
}

/** The caller of an engine operation: their organization and who they are. */
export interface CallContext {
  orgId: string;
  actor: Actor;
}
