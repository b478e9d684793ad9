/**
 * Group commit: writes that arrive while a transaction is being committed are gathered and committed
 * together in the next one. Step results of many runs then cost one transaction instead of one each —
 * the main headroom of the executor (DESIGN.md: ~8k → ~50k jobs/s on SQLite with 10 per transaction).
 * If a group fails, its writes are retried one by one so one bad write cannot fail the others.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../../store/db.js';
import type { Tables } from '../../store/schema.js';

type Write<T> = (trx: Transaction<Tables>) => Promise<T>;

interface Pending {
  write: Write<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class CommitQueue {
  #pending: Pending[] = [];
  #flushing: Promise<void> | null = null;

  constructor(
    private readonly database: Database,
    private readonly maxGroup = 256,
  ) {}

  /** Runs `write` in a transaction shared with other writes queued at about the same time. */
  commit<T>(write: Write<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ write, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#flushing) this.#flushing = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    // Let writes made in the same tick join the first group.
    await new Promise((r) => setImmediate(r));
    while (this.#pending.length > 0) {
      const group = this.#pending.splice(0, this.maxGroup);
      await this.#commitGroup(group);
    }
    this.#flushing = null;
  }

  async #commitGroup(group: Pending[]): Promise<void> {
    if (group.length > 1) {
      try {
        const results = await this.database.db.transaction().execute(async (trx) => {
          const out: unknown[] = [];
          for (const p of group) out.push(await p.write(trx));
          return out;
        });
        group.forEach((p, i) => p.resolve(results[i]));
        return;
      } catch {
        // fall through: find the culprit by committing one at a time
      }
    }
    for (const p of group) {
      try {
        p.resolve(await this.database.db.transaction().execute(p.write));
      } catch (err) {
        p.reject(err);
      }
    }
  }

  /** Resolves when everything queued so far is committed. */
  async idle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }
}
