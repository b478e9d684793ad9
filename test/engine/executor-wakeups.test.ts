/**
 * When a worker claims (issue 9): a slot of a capped process freeing, a retry or delay coming due and a
 * process enabled again each lead to a claim at once, not at the next poll. The poll interval here is
 * a minute, so a run that waited for it would fail the test's time limit; the assertions themselves are
 * on the worker's claim and wake-up counters, not on wall time.
 */
import { newRunRow } from '../support/runs.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startTarget, type Target } from '../support/target.js';
import { eventually } from '../support/wait.js';
import { insertRuns, type NewRun } from '../../src/store/runs.js';
import { openDatabase } from '../../src/store/db.js';
import { createServices } from '../../src/engine/services.js';
import { Executor } from '../../src/engine/executor/executor.js';

const TYPE = {
  name: 'Job',
  attributes: [{ key: 'title', type: 'string', required: true }],
  statuses: [{ key: 'open', name: 'Open', initial: true }],
};
/** Longer than any test here may take: a run that waits for the poll fails its test. */
const POLL_MS = 60_000;

for (const dialect of DIALECTS) {
  describe(`worker wake-ups on ${dialect}`, () => {
    let t: TestApp;
    let target: Target;
    let entityId: string;
    const put = async (key: string, def: Record<string, unknown>) => {
      const res = await t.call('PUT', `/api/v1/processes/${key}`, { name: key, entityType: 'job', trigger: { manual: true }, ...def });
      assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
      return res.json() as { version: number };
    };
    /** Queues `n` runs of a process at once, as a burst of saves or a batch would. */
    const queue = async (process: string, version: number, n: number) => {
      const availableAt = Date.now();
      const runs: NewRun[] = Array.from({ length: n }, () => newRunRow(t.defaultOrgId, { process, processVersion: version, entityType: 'job', entityId, availableAt }));
      await insertRuns(t.services.database.db, runs);
      return runs.map((r) => r.id);
    };
    const statuses = async (ids: string[]) =>
      (await t.services.database.db.selectFrom('runs').select('status').where('id', 'in', ids).execute()).map((r) => r.status);
    const allSucceeded = (ids: string[], what: string) =>
      eventually(async () => (await statuses(ids)).every((s) => s === 'succeeded') || undefined, 30_000, what);
    const counters = () => structuredClone(t.executor!.counters);

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: POLL_MS, leaseMs: 30_000 } });
      target = await startTarget();
      assert.equal((await t.call('PUT', '/api/v1/entity-types/job', TYPE)).statusCode, 201);
      entityId = (await t.call('POST', '/api/v1/entities/job', { attributes: { title: 'x' } })).json().id;
    });
    after(async () => {
      await t.close();
      await target.close();
    });

    test('cap 2, 50 runs queued at once: each freed slot is claimed at once; claims stay within a few per run', { timeout: 60_000 }, async () => {
      const { version } = await put('capped', {
        settings: { concurrency: 2 },
        tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/capped'` } }],
      });
      target.script(...Array.from({ length: 50 }, () => ({ status: 200, delayMs: 5 })));
      const before = counters();
      const ids = await queue('capped', version, 50);
      t.services.bus.runsQueued();
      await allSucceeded(ids, 'all 50 runs to succeed without waiting for the poll');
      const c = counters();
      const claims = c.claims - before.claims;
      assert.equal(c.runsClaimed - before.runsClaimed, 50);
      assert.equal(c.wakes.poll - before.wakes.poll, 0, 'no run waited for the poll');
      // A slot freeing costs a claim or two (ends that come together share one): never a spin.
      assert.ok(claims <= 2 * 50, `${claims} claims for 50 runs`);
      assert.ok(c.slotSignals - before.slotSignals >= 24, 'ends of runs of the capped process were signalled');
      assert.ok(c.cappedSkips > before.cappedSkips, 'runs were seen waiting for the cap');
      // The cap held: never more than 2 steps overlapping.
      const steps = await t.services.database.db.selectFrom('run_steps').select(['started_at', 'finished_at']).where('run_id', 'in', ids).execute();
      const ms = (v: unknown) => (v instanceof Date ? v.getTime() : Date.parse(String(v)));
      const edges = steps.flatMap((s) => [[ms(s.started_at), 1] as const, [ms(s.finished_at), -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let open = 0;
      let most = 0;
      for (const [, d] of edges) most = Math.max(most, (open += d));
      assert.ok(most <= 2, `${most} steps overlapped`);
    });

    test('a backlog of a capped process does not hold up the runs of another process queued after it', { timeout: 60_000 }, async () => {
      const slow = await put('slow_capped', {
        settings: { concurrency: 1 },
        tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/slow'` } }],
      });
      const quick = await put('quick', { tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/quick'` } }] });
      // 80 × 250 ms: the backlog alone takes 20 s, so a run that waited for it could not pass below.
      target.script(...Array.from({ length: 80 }, () => ({ status: 200, delayMs: 250 })));
      // More capped runs than a claim's window (2 × 32), all due before the other process's run.
      const backlog = await queue('slow_capped', slow.version, 80);
      const [other] = await queue('quick', quick.version, 1);
      t.services.bus.runsQueued();
      await allSucceeded([other!], "the other process's run to succeed");
      const waiting = (await statuses(backlog)).filter((s) => s === 'queued').length;
      // Loose on purpose: on a loaded machine the other run may take a few seconds, during which some
      // of the backlog runs; one that waited behind the whole backlog would leave none queued.
      assert.ok(waiting >= 40, `the other run went ahead of the backlog (${waiting} of 80 still queued)`);
      await t.services.database.db.updateTable('runs').set({ status: 'cancelled' }).where('id', 'in', backlog).where('status', '=', 'queued').execute();
      await eventually(async () => (await statuses(backlog)).every((s) => s !== 'running') || undefined, 10_000, 'the backlog to stop');
    });

    test('a retry is claimed when its backoff ends, not at the next poll', { timeout: 30_000 }, async () => {
      const { version } = await put('retrying', {
        settings: { retry: { maxAttempts: 3, initialDelayMs: 300, maxDelayMs: 300 } },
        tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/retry'` } }],
      });
      target.script({ status: 503 }, { status: 200 });
      const before = counters();
      const ids = await queue('retrying', version, 1);
      t.services.bus.runsQueued();
      await allSucceeded(ids, 'the retried run to succeed');
      const c = counters();
      // Its due time woke the worker, or (on Postgres) a notification that came first took it.
      assert.ok(c.wakes.due - before.wakes.due + (c.wakes.signal - before.wakes.signal) >= 1);
      assert.equal(c.wakes.poll - before.wakes.poll, 0, 'it did not wait for the poll');
    });

    test('a delay task goes on when the delay ends, not at the next poll', { timeout: 30_000 }, async () => {
      const { version } = await put('later', {
        tasks: [
          { key: 'wait', kind: 'delay', input: { ms: 300 } },
          { key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/later'` } },
        ],
      });
      const before = counters();
      const ids = await queue('later', version, 1);
      t.services.bus.runsQueued();
      await allSucceeded(ids, 'the delayed run to succeed');
      const c = counters();
      // Its due time woke the worker, or (on Postgres) a notification that came first took it.
      assert.ok(c.wakes.due - before.wakes.due + (c.wakes.signal - before.wakes.signal) >= 1);
      assert.equal(c.wakes.poll - before.wakes.poll, 0, 'it did not wait for the poll');
    });

    test('a disabled process: its queued runs stay queued; enabled again, they run', { timeout: 30_000 }, async () => {
      const def = { tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/paused'` } }] };
      await put('paused', def);
      const { version } = await put('paused', { ...def, enabled: false });
      const before = counters();
      const ids = await queue('paused', version, 3);
      t.services.bus.runsQueued();
      // A claim made after the runs were queued took none of them.
      await eventually(() => counters().claims > before.claims || undefined, 10_000, 'a claim');
      await eventually(async () => (await t.services.database.db.selectFrom('runs').select('id').where('status', '=', 'running').execute()).length === 0 || undefined, 10_000, 'nothing running');
      assert.deepEqual(await statuses(ids), ['queued', 'queued', 'queued']);
      const listed = (await t.call('GET', '/api/v1/processes/paused')).json();
      assert.deepEqual(listed.heldBack, { concurrency: 0, disabled: 3 });
      await put('paused', { ...def, enabled: true });
      await allSucceeded(ids, 'the runs to go on once enabled');
      assert.equal(counters().wakes.poll, before.wakes.poll, 'enabling woke the worker');
    });

    test('the held-back figure: runs due but waiting for a slot of a process at its cap', async () => {
      const def = { settings: { concurrency: 1 }, tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/held'` } }] };
      const { version } = await put('held', { ...def, enabled: false });
      const ids = await queue('held', version, 4);
      // One of them running (leased by a worker elsewhere), three due: the cap holds back three.
      await t.services.database.db.updateTable('runs').set({ status: 'running', lease_owner: 'elsewhere', lease_expires_at: Date.now() + 60_000 }).where('id', '=', ids[0]!).execute();
      const before = counters();
      await put('held', { ...def, enabled: true });
      const one = (await t.call('GET', '/api/v1/processes/held')).json();
      assert.deepEqual(one.heldBack, { concurrency: 3, disabled: 0 });
      const listed = (await t.call('GET', '/api/v1/processes?limit=500')).json().items.find((p: { key: string }) => p.key === 'held');
      assert.deepEqual(listed.heldBack, { concurrency: 3, disabled: 0 });
      assert.equal(listed.runs.running, 1, 'the existing counts are kept');
      // The worker woken by the change took none of them: the cap is full.
      await eventually(() => counters().claims > before.claims || undefined, 10_000, 'a claim');
      assert.deepEqual((await statuses(ids)).sort(), ['queued', 'queued', 'queued', 'running']);
      await t.services.database.db.updateTable('runs').set({ status: 'cancelled' }).where('id', 'in', ids).execute();
    });

    test('GET /api/v1/workers: the counters of this process\'s workers, for admins of the default organization only', async () => {
      const res = await t.call('GET', '/api/v1/workers');
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.workers, 1);
      const c = counters();
      assert.ok(body.claims > 0 && body.claims <= c.claims && body.runsClaimed <= c.runsClaimed);
      assert.deepEqual(Object.keys(body.wakes).sort(), ['due', 'poll', 'signal']);
      const other = (await t.call('POST', '/api/v1/organizations', { name: 'Other' })).json();
      assert.equal((await t.call('GET', '/api/v1/workers', undefined, { key: other.apiKey.key })).statusCode, 403);
      assert.equal((await t.call('GET', '/api/v1/workers', undefined, { key: null })).statusCode, 401);
    });

    test('Postgres: a slot freed by another worker process wakes this one through NOTIFY', { skip: dialect !== 'postgres', timeout: 60_000 }, async () => {
      const { version } = await put('shared', {
        settings: { concurrency: 1 },
        tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/shared'` } }],
      });
      // The app's worker (A) holds the only slot with a slow step while 5 more runs wait.
      target.script({ status: 200, delayMs: 500 });
      const ids = await queue('shared', version, 6);
      t.services.bus.runsQueued();
      await eventually(() => target.hits.some((h) => h.path === '/shared') || undefined, 10_000, 'the first step to start');
      // Worker B: another "process" (own connections, own in-process bus) on the same schema.
      const [{ schema }] = (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(t.services.database.db)).rows as [{ schema: string }];
      const database = openDatabase({ dialect: 'postgres', url: process.env.TEST_DATABASE_URL!, schema, poolSize: 2 });
      const b = new Executor(createServices(database, t.services.evaluator), { pollMs: POLL_MS, graceMs: 5_000 });
      try {
        await b.start();
        await eventually(() => b.counters.claims > 0 || undefined, 10_000, 'B to claim');
        // A stops claiming; its running step ends and frees the slot: B hears of it through NOTIFY.
        await t.executor!.stop();
        await allSucceeded(ids, 'B to run the rest');
        // A may have taken a run or two before it stopped (its step can end first on a loaded machine).
        assert.ok(b.counters.runsClaimed >= 1 && b.counters.runsClaimed <= 5, `B claimed ${b.counters.runsClaimed}`);
        assert.equal(b.counters.wakes.poll, 0, 'B never waited for its poll');
      } finally {
        await b.stop();
        await database.close();
        await t.executor!.start();
      }
    });
  });
}
