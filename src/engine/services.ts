/** What the engine needs to run: the database and the expression evaluator, passed explicitly (no globals). */
import type { Evaluator } from '../expr/index.js';
import type { Database } from '../store/db.js';
import { EntityTypeCache } from './entity-type-cache.js';
import { KeyedLock } from './keyed-lock.js';
import { Bus } from './bus.js';
import { ProcessVersionCache } from './process-cache.js';
import { ConnectionCache } from './connection-cache.js';
import { LinkQueue } from './link-queue.js';
import { RateLimiter } from './rate-limiter.js';
import { SecretBox } from './secrets.js';
import { EventRelay } from './event-relay.js';
import { DEFAULT_PAGE_BYTES } from '../domain/page-budget.js';
import { WorkerCounterSet } from './executor/counters.js';
import { systemClock, type Clock } from './clock.js';

/** The loop protection limits (Services), each from its setting in config.ts. */
export interface LoopLimits {
  /** Times one process may run for one entity within one cause chain (STATUSFLOW_LOOP_LIMIT). */
  loopLimit: number;
  /** Runs one behind the other in one cause chain (STATUSFLOW_CHAIN_DEPTH_LIMIT). */
  chainDepthLimit: number;
  /** Runs descended from one root run, the root included (STATUSFLOW_CHAIN_RUN_LIMIT). */
  chainRunLimit: number;
}

export interface Services extends LoopLimits {
  database: Database;
  evaluator: Evaluator;
  entityTypes: EntityTypeCache;
  /** Serialises saves of one entity within this process. */
  entityLocks: KeyedLock;
  /** Process versions by (org, key, version): immutable, so cached. */
  processVersions: ProcessVersionCache;
  bus: Bus;
  /** Most bytes of stored data one list page carries (STATUSFLOW_PAGE_BYTES; domain/page-budget.ts). */
  pageBytes: number;
  /** Encrypts and decrypts connection secrets. */
  secretBox: SecretBox;
  /** The connections' rate limits, shared with every other process through the database. */
  rateLimiter: RateLimiter;
  /** Decrypted connections (held briefly) and the per-connection memos of tasks. */
  connections: ConnectionCache;
  /** The links steps read and keep, coalesced into one query and one write per turn of the event loop. */
  links: LinkQueue;
  /** Postgres: bus events to and from the other statusflow processes (started by the CLI commands). */
  relay: EventRelay;
  /** Claim and wake-up counters of this process's workers (GET /api/v1/workers). */
  workerCounters: WorkerCounterSet;
  /**
   * The time of the executor and the batch feeder (claims, leases, backoff and delay due times, step
   * times) and of the queue times of the runs they compare with. The system clock but in tests, which
   * move one by hand (test/support/clock.ts); timers that only pace a loop stay on real time.
   */
  clock: Clock;
}

/**
 * `secretBox` defaults to a random key that dies with the process: right for tests, wrong for stored data
 * (the CLI always passes the configured key; see cli/runtime.ts).
 */
export function createServices(database: Database, evaluator: Evaluator, options: Partial<LoopLimits> & { pageBytes?: number; secretBox?: SecretBox; clock?: Clock } = {}): Services {
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
    chainDepthLimit: options.chainDepthLimit ?? 10,
    chainRunLimit: options.chainRunLimit ?? 1000,
    pageBytes: options.pageBytes ?? DEFAULT_PAGE_BYTES,
    secretBox: options.secretBox ?? SecretBox.ephemeral(),
    // Given a clock (tests), the rate limiter times its windows by it too; else by the database's (rate-limiter.ts).
    rateLimiter: new RateLimiter(database, options.clock ? { clock: options.clock } : {}),
    connections: new ConnectionCache(),
    links: new LinkQueue(database),
    relay: new EventRelay(bus, database),
    workerCounters: new WorkerCounterSet(),
    clock: options.clock ?? systemClock,
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
