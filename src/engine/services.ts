/** What the engine needs to run: the database and the expression evaluator, passed explicitly (no globals). */
import type { Evaluator } from '../expr/index.js';
import type { Database } from '../store/db.js';
import { EntityTypeCache } from './entity-type-cache.js';
import { KeyedLock } from './keyed-lock.js';
import { Bus } from './bus.js';
import { ProcessVersionCache } from './process-cache.js';
import { ConnectionCache } from './connection-cache.js';
import { RateLimiter } from './rate-limiter.js';
import { SecretBox } from './secrets.js';
import { EventRelay } from './event-relay.js';
import { WorkerCounterSet } from './executor/counters.js';

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
  /** Encrypts and decrypts connection secrets. */
  secretBox: SecretBox;
  /** The connections' rate limits, shared with every other process through the database. */
  rateLimiter: RateLimiter;
  /** Decrypted connections (held briefly) and the per-connection memos of tasks. */
  connections: ConnectionCache;
  /** Postgres: bus events to and from the other statusflow processes (started by the CLI commands). */
  relay: EventRelay;
  /** Claim and wake-up counters of this process's workers (GET /api/v1/workers). */
  workerCounters: WorkerCounterSet;
}

/**
 * `secretBox` defaults to a random key that dies with the process: right for tests, wrong for stored data
 * (the CLI always passes the configured key; see cli/runtime.ts).
 */
export function createServices(database: Database, evaluator: Evaluator, options: { loopLimit?: number; secretBox?: SecretBox } = {}): Services {
  const bus = new Bus();
  // Workers in other processes hear of new runs through NOTIFY, sent after the queuing commit.
  const { notify } = database;
  if (notify) {
    bus.onRunsQueued(() => notify('statusflow_runs'));
    // Its own channel: a freed slot is no news of other processes' runs (workers need not look past a capped backlog for it).
    bus.onSlotFreed(() => notify('statusflow_slots'));
  }
  return {
    database,
    evaluator,
    entityTypes: new EntityTypeCache(database),
    entityLocks: new KeyedLock(),
    processVersions: new ProcessVersionCache(database),
    bus,
    loopLimit: options.loopLimit ?? 3,
    secretBox: options.secretBox ?? SecretBox.ephemeral(),
    rateLimiter: new RateLimiter(database),
    connections: new ConnectionCache(),
    relay: new EventRelay(bus, database),
    workerCounters: new WorkerCounterSet(),
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
