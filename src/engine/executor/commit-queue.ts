/**
 * Group commit of step results: results that arrive while a transaction is being committed are
 * gathered and committed together in the next one. Step results of many runs then cost one
 * transaction instead of one each — the main headroom of the executor (DESIGN.md: ~8k → ~50k jobs/s on
 * SQLite with 10 per transaction). On SQLite the SqliteWriter does the grouping (with the saves made
 * meanwhile); on Postgres this queue does, committing each group in a single statement, and if a group
 * fails its writes are retried one by one so one bad write cannot fail the others.
 *
 * A commit whose database connection was lost is made again on a new connection (a few times, with
 * backoff): committing a step result is idempotent (the run's update is conditional on the lease owner,
 * the step an upsert of the same row), so even a commit that did reach the database may be repeated.
 * If the database stays away, the commit fails, the run stops here, and another claim resumes it after
 * its last committed step once its lease lapses (the step is then executed again: at-least-once).
 */
import type { Transaction } from 'kysely';
import type { Database } from '../../store/db.js';
import { commitStepResults, updateRun, writeStep, type StepResult } from '../../store/runs.js';
import { commitAtOnce, writesIdle } from '../../store/run-moves.js';
import { isConnectionLoss } from '../../store/pg-pool.js';
import type { Tables } from '../../store/schema.js';

/** Waits before each new attempt of a commit whose connection was lost (about 3 s in all). */
const RECONNECT_DELAYS_MS = [100, 200, 400, 800, 1600];

/** `fn`, made again after each lost connection while RECONNECT_DELAYS_MS lasts. */
async function reconnecting<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= RECONNECT_DELAYS_MS.length || !isConnectionLoss(err)) throw err;
      await new Promise((r) => setTimeout(r, RECONNECT_DELAYS_MS[i]));
    }
  }
}

/** A run's new state (only if `owner` still holds it) and, optionally, the step that led there. */
export type StepCommit = StepResult & { owner: string };

interface Pending {
  c: StepCommit;
  resolve: (kept: boolean) => void;
  reject: (err: unknown) => void;
}

export class CommitQueue {
  #pending: Pending[] = [];
  #flushing: Promise<void> | null = null;

  constructor(
    private readonly database: Database,
    private readonly maxGroup = 256,
    /** Called after each result that was kept is committed (the worker learns of runs parked until later). */
    private readonly onCommitted: (c: StepCommit) => void = () => {},
  ) {}

  /** Commits the step result; false when the worker lost the run meanwhile (nothing is written then). */
  async commit(c: StepCommit): Promise<boolean> {
    const kept = await this.#commit(c);
    if (kept) this.onCommitted(c);
    return kept;
  }

  #commit(c: StepCommit): Promise<boolean> {
    const now = commitAtOnce(this.database, c);
    if (now) return now;
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.push({ c, resolve, reject });
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
        // One statement for the whole group (store/runs.ts): round trips, not Postgres, were the limit.
        const kept = await reconnecting(() => commitStepResults(this.database.db, group.map((p) => p.c)));
        group.forEach((p, i) => p.resolve(kept[i]!));
        return;
      } catch (err) {
        if (isConnectionLoss(err)) {
          // The database stayed away: no write of the group is at fault; each run resumes after its lease.
          for (const p of group) p.reject(err);
          return;
        }
        // else fall through: find the culprit by committing one at a time
      }
    }
    for (const p of group) {
      try {
        p.resolve(await reconnecting(() => this.database.db.transaction().execute((trx) => write(trx, p.c))));
      } catch (err) {
        p.reject(err);
      }
    }
  }

  /** Resolves when everything queued so far is committed. */
  async idle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    await writesIdle(this.database);
  }
}

async function write(trx: Transaction<Tables>, c: StepCommit): Promise<boolean> {
  if (!(await updateRun(trx, c.orgId, c.runId, c.owner, c.run))) return false;
  if (c.step) await writeStep(trx, c.step);
  return true;
}
