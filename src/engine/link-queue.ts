/**
 * The link reads and writes of the steps running at about the same time, coalesced: the reads asked in one turn
 * of the event loop go to the store as one query per (organization, connection, external type), the writes kept
 * together as one write (store/links-grouped.ts). The steps of a grouped HubSpot call plan together and keep their links
 * together, so a call of 100 records costs a couple of queries instead of 100 reads and 100 commits.
 * Each caller still hears only of its own link; a write that fails is tried again link by link, so a link
 * the database refuses fails only its own step.
 */
import type { Database } from '../store/db.js';
import type { LinkWrite, StoredLink } from '../store/links.js';
import { readLinksOf, writeLinks, type LinkScope } from '../store/links-grouped.js';

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

interface ReadGroup {
  scope: LinkScope;
  /** entity id → who waits for its link. */
  waiting: Map<string, Array<Waiter<StoredLink | undefined>>>;
}

/** How many statements the queue sent, and for how many links (for benchmarks and tests). */
export interface LinkQueueCounters {
  reads: number;
  readQueries: number;
  writes: number;
  writeCalls: number;
}

export class LinkQueue {
  readonly counters: LinkQueueCounters = { reads: 0, readQueries: 0, writes: 0, writeCalls: 0 };
  #reads = new Map<string, ReadGroup>();
  #writes: Array<{ link: LinkWrite; waiter: Waiter<void> }> = [];
  #scheduled = false;

  constructor(private readonly database: Database) {}

  /** The link of one entity, read with the others asked for in this turn of the event loop. */
  get(scope: LinkScope, entityId: string): Promise<StoredLink | undefined> {
    return new Promise((resolve, reject) => {
      const key = `${scope.orgId}\u0000${scope.connection}\u0000${scope.externalType}`;
      let group = this.#reads.get(key);
      if (!group) this.#reads.set(key, (group = { scope, waiting: new Map() }));
      const waiting = group.waiting.get(entityId);
      if (waiting) waiting.push({ resolve, reject });
      else group.waiting.set(entityId, [{ resolve, reject }]);
      this.#schedule();
    });
  }

  /**
   * Creates or updates a link, written with the others kept before the current task's microtasks run out (a
   * grouped call keeps all its links in one synchronous pass); resolves once committed. Not a whole turn, as
   * reads wait: on SQLite the writer's group commit already gathers the writes of a turn, and a turn more was
   * latency each step of a call waited.
   */
  put(link: LinkWrite): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#writes.push({ link, waiter: { resolve, reject } });
      if (this.#writes.length > 1) return;
      queueMicrotask(() => {
        const writes = this.#writes;
        this.#writes = [];
        void this.#write(writes);
      });
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const reads = [...this.#reads.values()];
      this.#reads = new Map();
      for (const group of reads) void this.#read(group);
    });
  }

  async #read(group: ReadGroup): Promise<void> {
    const ids = [...group.waiting.keys()];
    this.counters.reads += ids.length;
    this.counters.readQueries += Math.ceil(ids.length / 256);
    try {
      const found = new Map((await readLinksOf(this.database, group.scope, ids)).map((l) => [l.entityId, l]));
      for (const [id, waiters] of group.waiting) for (const w of waiters) w.resolve(found.get(id));
    } catch (err) {
      for (const waiters of group.waiting.values()) for (const w of waiters) w.reject(err);
    }
  }

  async #write(writes: Array<{ link: LinkWrite; waiter: Waiter<void> }>): Promise<void> {
    this.counters.writes += writes.length;
    this.counters.writeCalls++;
    const now = new Date().toISOString();
    try {
      await writeLinks(this.database, writes.map((w) => w.link), now);
      for (const w of writes) w.waiter.resolve();
    } catch (err) {
      if (writes.length === 1) return writes[0]!.waiter.reject(err);
      // Which link was refused is not known: each alone, so each caller gets its own outcome.
      for (const w of writes) await this.#write([w]);
    }
  }
}
