/**
 * The shared sliding-window rate limit: never more than `requests` slots in any `perMs` window, also
 * across processes (Postgres), at the limit rather than far below it; pauses (backOff) and aborts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { RateLimiter } from '../../src/engine/rate-limiter.js';
import { openDatabase } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { recordedSlots } from '../../src/store/rate-limits.js';

const LIMIT = { requests: 20, perMs: 1000 };

/** The largest number of slots inside any window of `perMs` (a slot at t counts for windows (t - perMs, t]). */
function busiestWindow(slots: number[], perMs: number): number {
  const s = [...slots].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < s.length; j++) {
    while (s[j]! - s[i]! >= perMs) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

for (const dialect of DIALECTS) {
  describe(`rate limiter on ${dialect}`, () => {
    let database: TestDatabase;
    let limiter: RateLimiter;
    before(async () => {
      database = await openTestDatabase(dialect);
      limiter = new RateLimiter(database);
    });
    after(() => database.drop());

    test('60 acquires against 20 per 1000 ms take at least 2 s and never exceed 20 in any 1000 ms window', async () => {
      const started = Date.now();
      const slots = await Promise.all(Array.from({ length: 60 }, () => limiter.acquire('org_a', 'hub', LIMIT)));
      const took = Date.now() - started;
      assert.ok(took >= 2000, `took ${took} ms`);
      assert.ok(took < 3500, `took ${took} ms: far slower than the limit`);
      assert.equal(busiestWindow(slots, LIMIT.perMs), 20);
      const sorted = [...slots].sort((a, b) => a - b);
      for (let i = 0; i + 20 < sorted.length; i++) assert.ok(sorted[i + 20]! - sorted[i]! >= 1000, `slots ${i} and ${i + 20} are ${sorted[i + 20]! - sorted[i]!} ms apart`);
      // What the database recorded is what was handed out (the window is pruned, so only the recent part remains).
      const recorded = await recordedSlots(database.db, 'org_a', 'hub');
      assert.ok(recorded.length >= 20 && recorded.length <= 60, `recorded ${recorded.length}`);
      for (const at of recorded) assert.ok(slots.includes(at));
    });

    test('connections and organizations have windows of their own', async () => {
      const limit = { requests: 3, perMs: 60_000 };
      for (let i = 0; i < 3; i++) await limiter.acquire('org_b', 'one', limit);
      const t = Date.now();
      await limiter.acquire('org_b', 'two', limit);
      await limiter.acquire('org_c', 'one', limit);
      assert.ok(Date.now() - t < 500);
      const blocked = new AbortController();
      setTimeout(() => blocked.abort(new Error('gave up')), 100);
      await assert.rejects(limiter.acquire('org_b', 'one', limit, blocked.signal), /gave up/);
    });

    test('an aborted waiter leaves at once and does not hold up the others', async () => {
      const limit = { requests: 1, perMs: 400 };
      await limiter.acquire('org_d', 'c', limit);
      const quitter = new AbortController();
      const t = Date.now();
      const first = limiter.acquire('org_d', 'c', limit, quitter.signal);
      const second = limiter.acquire('org_d', 'c', limit);
      quitter.abort(new Error('cancelled'));
      await assert.rejects(first, /cancelled/);
      assert.ok(Date.now() - t < 100, 'the abort is immediate');
      await second;
      const waited = Date.now() - t;
      assert.ok(waited >= 300 && waited < 900, `the next waiter got the slot after ${waited} ms`);
      await assert.rejects(limiter.acquire('org_d', 'c', limit, AbortSignal.abort(new Error('already'))), /already/);
    });

    test('backOff pauses every slot of the connection, with or without a limit; a shorter pause keeps the longer one', async () => {
      await limiter.backOff('org_e', 'dbx', 400);
      await limiter.backOff('org_e', 'dbx', 50);
      let t = Date.now();
      await limiter.acquire('org_e', 'dbx', undefined);
      assert.ok(Date.now() - t >= 300, `no-limit acquire waited ${Date.now() - t} ms`);
      await limiter.backOff('org_e', 'hub', 300);
      t = Date.now();
      await limiter.acquire('org_e', 'hub', LIMIT);
      assert.ok(Date.now() - t >= 200, `limited acquire waited ${Date.now() - t} ms`);
      t = Date.now();
      await limiter.acquire('org_e', 'dbx', undefined);
      assert.ok(Date.now() - t < 200, 'the pause is over');
      await limiter.backOff('org_e', 'dbx', 0);
      await limiter.backOff('org_e', 'dbx', -5);
    });

    test('slots that left the window are pruned; forget clears the connection', async () => {
      const limit = { requests: 5, perMs: 100 };
      for (let i = 0; i < 5; i++) await limiter.acquire('org_f', 'c', limit);
      await new Promise((r) => setTimeout(r, 150));
      await limiter.acquire('org_f', 'c', limit);
      const left = await recordedSlots(database.db, 'org_f', 'c');
      assert.ok(left.length <= 6);
      await new Promise((r) => setTimeout(r, 150));
      await limiter.acquire('org_f', 'c', limit);
      assert.ok((await recordedSlots(database.db, 'org_f', 'c')).length < 6, 'older slots were pruned');
      await limiter.forget('org_f', 'c');
      assert.deepEqual(await recordedSlots(database.db, 'org_f', 'c'), []);
    });
  });
}

const url = process.env.TEST_DATABASE_URL;
describe('rate limiter across processes (Postgres)', { skip: url ? false : 'TEST_DATABASE_URL is not set' }, () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  before(async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
    const database = openDatabase({ dialect: 'postgres', url: url!, schema });
    await migrate(database);
    await database.close();
  });
  after(async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.end();
  });

  function child(job: object): Promise<number[]> {
    const script = join(import.meta.dirname, '../support/rate-limit-child.ts');
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const p = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(job)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      p.on('error', reject);
      p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`child exited ${code}: ${err}`))));
    });
  }

  test('two processes acquiring at once: together never more than 20 in any 1000 ms, and within 15% of the limit', async (t) => {
    const job = { url, schema, orgId: 'org_x', connection: 'hubspot_main', count: 50, concurrency: 4, limit: LIMIT, startAt: Date.now() + 2500 };
    const [a, b] = await Promise.all([child(job), child(job)]);
    assert.equal(a.length, 50);
    assert.equal(b.length, 50);
    const all = [...a, ...b].sort((x, y) => x - y);
    assert.equal(busiestWindow(all, LIMIT.perMs), 20, 'the limit holds across both processes');
    // Both took part all along (not one after the other).
    assert.ok(Math.min(...a) < Math.max(...b) && Math.min(...b) < Math.max(...a));
    // At 20 per 1000 ms, 100 slots need a span of at least 4000 ms (5 windows' worth: 100 / (span + 1000 ms) ≤ 20
    // per 1000 ms). The achieved rate by that measure must be within 15% of the limit.
    const span = all[all.length - 1]! - all[0]!;
    const rate = (all.length / (span + LIMIT.perMs)) * LIMIT.perMs;
    t.diagnostic(`achieved ${rate.toFixed(2)} per ${LIMIT.perMs} ms across 2 processes (limit ${LIMIT.requests}); busiest window ${busiestWindow(all, LIMIT.perMs)}`);
    assert.ok(rate <= LIMIT.requests && rate >= LIMIT.requests * 0.85, `achieved ${rate.toFixed(2)} per ${LIMIT.perMs} ms over ${span} ms`);
  });
});
