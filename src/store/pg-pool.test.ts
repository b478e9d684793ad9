/**
 * Lost Postgres connections (pg-pool.ts): a connection ended by the server — idle in the pool, held
 * between the statements of a transaction, or in the middle of a statement — never ends the process;
 * the pool opens a new one, and the failed work sees a DatabaseUnavailableError. Postgres only.
 * Only this test's own connections are terminated: they carry an application_name of their own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { pgAdmin } from '../../test/support/databases.js';
import { eventually } from '../../test/support/wait.js';
import { openDatabase, type Database } from './db.js';
import pg from 'pg';
import { DatabaseUnavailableError, isConnectionLoss, outcomeOf, trackWrites, type WorkRecord } from './pg-pool.js';

test('isConnectionLoss: server shutdowns, connection exceptions, socket errors and pg’s own messages; not statement errors', () => {
  for (const code of ['57P01', '57P02', '57P03', '08006', '08003', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']) {
    assert.equal(isConnectionLoss(Object.assign(new Error('x'), { code })), true, code);
  }
  assert.equal(isConnectionLoss(new Error('Connection terminated unexpectedly')), true);
  assert.equal(isConnectionLoss(new Error('Client has encountered a connection error and is not queryable')), true);
  assert.equal(isConnectionLoss(new DatabaseUnavailableError(new Error('x'))), true);
  for (const code of ['23505', '40001', '42P01', '22P02']) {
    assert.equal(isConnectionLoss(Object.assign(new Error('x'), { code })), false, code);
  }
  assert.equal(isConnectionLoss(new Error('relation "x" does not exist')), false);
  assert.equal(isConnectionLoss(undefined), false);
});

const url = process.env.TEST_DATABASE_URL;
const skip = url ? false : 'needs Postgres: set TEST_DATABASE_URL';

describe('lost Postgres connections', { skip }, () => {
  const app = `sf_pgpool_${randomBytes(5).toString('hex')}`;
  const losses: string[] = [];
  let database: Database;

  before(() => {
    database = openDatabase({ dialect: 'postgres', url: `${url}${url!.includes('?') ? '&' : '?'}application_name=${app}`, poolSize: 3, log: (msg) => losses.push(msg) });
  });
  after(async () => {
    await database?.close();
  });

  /** Ends this test's connections (and only those) from another connection; resolves with how many. */
  const terminateOurs = async (): Promise<void> => {
    await pgAdmin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${app}' AND pid <> pg_backend_pid()`);
  };
  const ours = async (): Promise<number> => {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${app}`.execute(database.db);
    return rows[0]!.n;
  };
  /** Resolves once the server has no connection of ours left (as seen from another connection). */
  const ended = () =>
    eventually(async () => (await pgAdmin<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${app}'`))[0]!.n === 0, 10_000, 'our connections to end');
  /** Resolves once the statements running on our connections are `n`. */
  const running = (n: number) =>
    eventually(
      async () => (await pgAdmin<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${app}' AND state = 'active'`))[0]!.n === n,
      10_000,
      `${n} statements running`,
    );

  test('an idle pooled connection ended by the server: the process lives on, the next query gets a new connection', async () => {
    assert.equal(await ours(), 1);
    const before = losses.length;
    await terminateOurs();
    // The pool hears of it; before the fix, this 'error' event ended the process.
    await eventually(() => losses.length > before, 10_000, 'the loss to be reported');
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db);
    assert.equal(rows[0]!.one, 1);
  });

  test('a connection held by a transaction, ended between its statements: the transaction fails with DatabaseUnavailableError and wrote nothing', async () => {
    const record: WorkRecord = { mayHaveWritten: false };
    const attempt = trackWrites(record, () =>
      database.db.transaction().execute(async (trx) => {
        await sql`SELECT 1`.execute(trx);
        await terminateOurs();
        await ended(); // the connection is gone while the transaction holds it (no statement running)
        await sql`SELECT 2`.execute(trx);
      }),
    );
    await assert.rejects(attempt, DatabaseUnavailableError);
    assert.equal(record.mayHaveWritten, false, 'no COMMIT was sent: safe to do again');
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db);
    assert.equal(rows[0]!.one, 1);
  });

  test('a read running when its connection is ended is made again on a new connection; a write fails with DatabaseUnavailableError', async () => {
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'answered',
        (err: unknown) => err,
      );
    const read = outcome(sql`SELECT pg_sleep(1.5)`.execute(database.db));
    // A statement that is not a SELECT may have written before the connection broke: never repeated.
    const write = outcome(sql`DO $$ BEGIN PERFORM pg_sleep(5); END $$`.execute(database.db));
    await running(2); // both statements are under way
    await terminateOurs();
    assert.equal(await read, 'answered');
    assert.ok((await write) instanceof DatabaseUnavailableError);
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db);
    assert.equal(rows[0]!.one, 1);
  });

  test('a COMMIT whose connection was ended: the transaction did not commit, and the work is known to have written nothing', async () => {
    await sql`CREATE TABLE IF NOT EXISTS pgpool_commit_${sql.raw(app)} (x int)`.execute(database.db);
    const record: WorkRecord = { mayHaveWritten: false };
    const attempt = trackWrites(record, () =>
      database.db.transaction().execute(async (trx) => {
        await sql`INSERT INTO pgpool_commit_${sql.raw(app)} VALUES (1)`.execute(trx);
        // Ended now: the COMMIT that follows meets a dead connection, either before it is sent or after.
        await terminateOurs();
      }),
    );
    await assert.rejects(attempt, DatabaseUnavailableError);
    assert.equal(record.mayHaveWritten, false, 'the transaction is known not to have committed (txid_status or never sent)');
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgpool_commit_${sql.raw(app)}`.execute(database.db);
    assert.equal(rows[0]!.n, 0);
    await sql`DROP TABLE pgpool_commit_${sql.raw(app)}`.execute(database.db);
  });

  test('outcomeOf tells a committed transaction from an aborted one by its id', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const xidOf = async (end: 'COMMIT' | 'ROLLBACK') => {
        await c.query('BEGIN');
        const { rows } = await c.query<{ xid: string }>('SELECT txid_current()::text AS xid');
        await c.query(end);
        return rows[0]!.xid;
      };
      const pool = { query: c.query.bind(c) } as unknown as Pick<pg.Pool, 'query'>;
      assert.equal(await outcomeOf(pool, await xidOf('COMMIT')), 'committed');
      assert.equal(await outcomeOf(pool, await xidOf('ROLLBACK')), 'aborted');
      assert.equal(await outcomeOf(pool, undefined), 'unknown');
    } finally {
      await c.end();
    }
  });

  test('writes are tracked: a statement outside a transaction or a COMMIT may have written, a SELECT or an unfinished transaction not', async () => {
    const read: WorkRecord = { mayHaveWritten: false };
    await trackWrites(read, () => sql`SELECT 1`.execute(database.db));
    assert.equal(read.mayHaveWritten, false);
    const write: WorkRecord = { mayHaveWritten: false };
    await trackWrites(write, () => sql`CREATE TEMP TABLE IF NOT EXISTS t (x int)`.execute(database.db));
    assert.equal(write.mayHaveWritten, true);
    const committed: WorkRecord = { mayHaveWritten: false };
    await trackWrites(committed, () => database.db.transaction().execute((trx) => sql`SELECT 1`.execute(trx)));
    assert.equal(committed.mayHaveWritten, true);
  });

  test('several connections ended at once, again and again, with queries under way: every query answers or fails with DatabaseUnavailableError', async () => {
    const outcomes = { ok: 0, unavailable: 0 };
    for (let round = 0; round < 5; round++) {
      const queries = Array.from({ length: 12 }, (_, i) => sql`SELECT pg_sleep(${(i % 4) * 0.02})`.execute(database.db));
      const killing = (async () => {
        await new Promise((r) => setTimeout(r, 15));
        await terminateOurs();
      })();
      const settled = await Promise.allSettled(queries);
      await killing;
      for (const s of settled) {
        if (s.status === 'fulfilled') outcomes.ok++;
        else {
          assert.ok(s.reason instanceof DatabaseUnavailableError, `an unexpected error: ${String(s.reason)}`);
          outcomes.unavailable++;
        }
      }
    }
    assert.equal(outcomes.ok + outcomes.unavailable, 60);
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db);
    assert.equal(rows[0]!.one, 1);
  });
});
