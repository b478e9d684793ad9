import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Database } from './db.js';
import type { SqliteWriter } from './sqlite-writer.js';
import { eventLoopTurns } from '../../test/support/wait.js';

describe('SqliteWriter (group commit on the embedded database)', () => {
  let dir: string;
  let database: Database;
  let writer: SqliteWriter;
  const count = (): Promise<number> => writer.read((s) => s.get<{ n: number }>('select count(*) as n from t')!.n);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'statusflow-writer-'));
    database = openDatabase({ dialect: 'sqlite', path: join(dir, 'w.db') });
    writer = database.sqlite!;
    await sql`create table t (id integer primary key, v text not null)`.execute(database.db);
  });
  after(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('savepoint journals stay in memory (temp_store = MEMORY): spilled to a temp file they tripled the cost of a save’s last insert', async () => {
    // 2 = MEMORY. With the default, a group's savepoint journal passes SQLite's 64 KiB spill limit
    // after a save's entity, event and run inserts and goes to a temporary file (measured 2026-12-06:
    // the run insert 62 µs instead of 29).
    assert.equal(await writer.read((s) => s.get<{ temp_store: number }>('pragma temp_store')!.temp_store), 2);
  });

  it('writes queued together share one commit, and each caller gets its own result', async () => {
    const groups = writer.stats.groups;
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => writer.write((s) => (s.run('insert into t (id, v) values (?, ?)', [i + 1, `v${i}`]), i + 1))));
    assert.deepEqual(ids, Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(writer.stats.groups - groups, 1);
    assert.equal(await count(), 20);
  });

  it('a write queued by the previous write’s caller a few microtasks later is not forgotten', async () => {
    // The window: the drain has seen empty queues but has not yet marked itself finished. Callers that
    // resume through only microtasks (no I/O) queue their next write right there; every gap is tried.
    // A forgotten write sits in the queue with no drain scheduled or running: the writer is idle
    // while the write is not done (no timer guessing how long "stuck" takes).
    for (let hops = 0; hops < 30; hops++) {
      await writer.write((s) => s.run('insert into t (v) values (?)', [`first ${hops}`]));
      for (let i = 0; i < hops; i++) await null;
      let done = false;
      const second = writer.write((s) => s.run('insert into t (v) values (?)', [`second ${hops}`])).finally(() => (done = true));
      await writer.idle();
      assert.ok(done, `the write queued after ${hops} microtasks was left in the queue of an idle writer`);
      assert.equal(await second, 1);
    }
    await writer.write((s) => s.run("delete from t where v like 'first %' or v like 'second %'"));
  });

  it('a write that throws is undone alone; the others in its group commit', async () => {
    const results = await Promise.allSettled([
      writer.write((s) => s.run('insert into t (id, v) values (?, ?)', [101, 'a'])),
      writer.write((s) => {
        s.run('insert into t (id, v) values (?, ?)', [102, 'half-written']);
        throw new Error('refused');
      }),
      writer.write((s) => s.run('insert into t (id, v) values (?, ?)', [101, 'duplicate'])),
      writer.write((s) => s.run('insert into t (id, v) values (?, ?)', [103, 'c'])),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    assert.equal((results[1] as PromiseRejectedResult).reason.message, 'refused');
    assert.match(String((results[2] as PromiseRejectedResult).reason.code), /SQLITE_CONSTRAINT/);
    const rows = await writer.read((s) => s.all<{ id: number; v: string }>('select id, v from t where id > 100 order by id'));
    assert.deepEqual(rows, [{ id: 101, v: 'a' }, { id: 103, v: 'c' }]);
  });

  it('a lone write that throws leaves nothing and no open transaction', async () => {
    await assert.rejects(
      writer.write((s) => {
        s.run('insert into t (id, v) values (?, ?)', [201, 'x']);
        throw new Error('no');
      }),
      /no/,
    );
    assert.equal(await writer.read((s) => s.get('select id from t where id = 201')), undefined);
    await writer.write((s) => s.run('insert into t (id, v) values (?, ?)', [202, 'y']));
    assert.equal(await count(), 23);
  });

  it('never runs inside an open Kysely transaction, so it cannot see or join its uncommitted writes', async () => {
    let inside!: () => void;
    const held = new Promise<void>((r) => (inside = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const trx = database.db
      .transaction()
      .execute(async (t) => {
        await sql`insert into t (id, v) values (301, 'rolled back')`.execute(t);
        inside();
        await gate;
        throw new Error('rollback');
      })
      .catch(() => {});
    await held;
    let settled = 0;
    const seen = writer.read((s) => s.get('select id from t where id = 301')).finally(() => settled++);
    const written = writer.write((s) => s.run('insert into t (id, v) values (?, ?)', [302, 'z'])).finally(() => settled++);
    // The writer's drain starts on the next turn of the event loop and, better-sqlite3 being
    // synchronous, would be done within it had it not waited for the transaction's connection.
    await eventLoopTurns(3);
    assert.equal(settled, 0, 'the read and the write wait while the transaction holds the connection');
    release();
    await trx;
    assert.equal(await seen, undefined);
    await written;
    assert.ok(await writer.read((s) => s.get('select id from t where id = 302')));
  });

  it('Kysely writes join the same group', async () => {
    const groups = writer.stats.groups;
    await Promise.all([
      writer.writeKysely((db) => sql`insert into t (id, v) values (401, 'k')`.execute(db)),
      writer.write((s) => s.run('insert into t (id, v) values (?, ?)', [402, 's'])),
    ]);
    assert.equal(writer.stats.groups - groups, 1);
    assert.equal((await writer.read((s) => s.all('select id from t where id in (401, 402)'))).length, 2);
  });

  it('exclusive work runs before the next group with the connection held; writes queued meanwhile commit right after it', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    try {
      await writer.write((s) => (s.run('insert into t (id, v) values (?, ?)', [501, 'before']), order.push('write before')));
      const paused = writer.exclusive(async () => {
        order.push('exclusive start');
        await gate;
        order.push('exclusive end');
        return 'done';
      });
      while (!order.includes('exclusive start')) await new Promise((r) => setImmediate(r));
      // Queued while the writer is paused: neither this write nor a Kysely read may run until it ends.
      const during = writer.write((s) => (s.run('insert into t (id, v) values (?, ?)', [502, 'during']), order.push('write during')));
      const read = database.db.selectFrom('t' as never).select(sql<number>`count(*)`.as('n')).execute().then(() => order.push('kysely read'));
      // Both would be done within a few turns of the event loop (no I/O: better-sqlite3 is synchronous).
      await eventLoopTurns(3);
      assert.deepEqual(order, ['write before', 'exclusive start']);
      release();
      assert.equal(await paused, 'done');
      await Promise.all([during, read]);
      assert.deepEqual(order.slice(0, 3), ['write before', 'exclusive start', 'exclusive end']);
      assert.ok(order.includes('write during') && order.includes('kysely read'));
    } finally {
      release();
    }
  });
  it('readNow runs at once between groups, and waits while a transaction is open or exclusive work holds the connection', async () => {
    await writer.write((s) => s.run('insert into t (id, v) values (?, ?)', [601, 'committed']));
    const v = (s: Parameters<Parameters<SqliteWriter['readNow']>[0]>[0]) => s.get<{ v: string }>('select v from t where id = 601')?.v;
    let ran = false;
    const now = writer.readNow((s) => ((ran = true), v(s)));
    assert.equal(ran, true, 'synchronously');
    assert.equal(await now, 'committed');
    // A Kysely write inside a group keeps its transaction open across awaits: a read then must not see it.
    let seen: string | undefined = 'not read';
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const open = writer.writeKysely(async (db) => {
      await sql`update t set v = 'uncommitted' where id = 601`.execute(db);
      seen = await Promise.race([writer.readNow(v), new Promise<string>((r) => setTimeout(() => r('queued'), 20))]);
      release();
    });
    await gate;
    await open;
    assert.equal(seen, 'queued', 'queued behind the open transaction');
    assert.equal(await writer.readNow(v), 'uncommitted');
    let readDuring: string | undefined;
    let end!: () => void;
    const held = writer.exclusive(() => new Promise<void>((r) => (end = r)));
    while (!end) await new Promise((r) => setImmediate(r));
    const during = writer.readNow((s) => (readDuring = v(s)));
    assert.equal(readDuring, undefined, 'not while exclusive work runs');
    end();
    await held;
    await during;
    assert.equal(readDuring, 'uncommitted');
  });
});
