/**
 * Crash safety end to end: the real server as a child process is killed with SIGKILL while hundreds of
 * runs are in flight, restarted on the same database, and every run still finishes. Each HTTP call is
 * made at least once and at most twice — twice only for the runs that were in flight at the kill —
 * and always with the same Idempotency-Key (`<run id>:<task key>`), so a provider honouring it applies
 * each effect once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { DIALECTS } from './support/databases.js';
import { ORDER_TYPE } from './support/order.js';
import {
  api,
  createChildDatabase,
  mapConcurrent,
  runStatusCounts,
  outputsOf,
  startCountingTarget,
  startServerProcess,
  TEST_ADMIN_KEY,
  waitFor,
  type ChildDatabase,
  type CountingTarget,
  type ServerProcess,
} from './support/server-process.js';
import type { Database } from '../src/store/db.js';
import { whileProgressing } from './support/wait.js';

const RUNS = 500;
/** Runs one worker executes at once: the most calls that can be in flight when the server dies. */
const CONCURRENCY = 16;
/** The server is killed when the target has seen this many calls (about 40% of the runs). */
const KILL_AT = 200;

for (const dialect of DIALECTS) {
  describe(`crash and restart on ${dialect}`, () => {
    let target: CountingTarget;
    let database: ChildDatabase;
    let reader: Database | undefined;
    const servers: ServerProcess[] = [];

    before(async () => {
      // Answers 5–20 ms after the request, so that many calls are in flight when the server dies.
      target = await startCountingTarget(() => 5 + Math.random() * 15);
      database = await createChildDatabase(dialect);
    });
    after(async () => {
      for (const s of servers) await s.kill();
      await reader?.close();
      await target?.close();
      await database?.drop();
    });

    const start = async (name: string, leaseMs: number) => {
      const s = await startServerProcess({
        command: 'start',
        name,
        env: {
          ...database.env,
          STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY,
          LOG_LEVEL: 'warn',
          STATUSFLOW_WORKERS: '1',
          STATUSFLOW_WORKER_CONCURRENCY: String(CONCURRENCY),
          STATUSFLOW_LEASE_MS: String(leaseMs),
          STATUSFLOW_POLL_MS: '100',
        },
      });
      servers.push(s);
      return s;
    };

    test(`kill -9 with runs in flight: after a restart all ${RUNS} runs succeed, each call made at most twice`, { timeout: 120_000 }, async () => {
      const t0 = Date.now();
      const first = await start('server (before the crash)', 2000);
      const put = async (path: string, body: unknown) => {
        const res = await api(first.origin, 'PUT', path, body);
        assert.ok(res.status === 200 || res.status === 201, `PUT ${path}: ${res.status} ${JSON.stringify(res.json)}`);
      };
      await put('/api/v1/entity-types/order', ORDER_TYPE);
      await put('/api/v1/processes/notify', {
        name: 'Notify',
        entityType: 'order',
        trigger: { status: 'received' },
        settings: { concurrency: CONCURRENCY, retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 500 } },
        tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/hook'`, body: "{ 'n': order_number }" } }],
      });

      // Queue all the runs first: the target holds its answers until every entity is created.
      target.hold();
      const runIds = await mapConcurrent(Array.from({ length: RUNS }, (_, i) => i), 8, async (i) => {
        const res = await api(first.origin, 'POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${i + 1}`, total: 10 + i, customer_email: `c${i}@example.com` } });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        assert.equal(res.json.status, 'received');
        assert.equal(res.json.queuedRuns.length, 1);
        return res.json.queuedRuns[0].id as string;
      });
      const created = Date.now();

      let killedAfter = 0;
      target.onHit = (total) => {
        if (total === KILL_AT && first.alive) {
          first.child.kill('SIGKILL');
          killedAfter = total;
        }
      };
      target.release();
      // However slow the loaded machine, calls must keep coming until the kill: a stall is the failure.
      await whileProgressing(
        async () => target.hits.length,
        () => !first.alive,
        (hits) => hits,
        20_000,
        (hits) => `the kill at call ${KILL_AT}; the target saw ${hits} calls\n${outputsOf(servers)}`,
      );
      await first.exited;
      target.onHit = null;
      const killed = Date.now();
      assert.equal(killedAfter, KILL_AT, 'the server was killed by the test, not by itself');

      // Calls of the dead server may still be arriving: everything before the restart is its. Its
      // connections close once the target has read what it sent (the kernel closed them at its exit).
      await waitFor(async () => target.connections === 0, 10_000, () => `the dead server's ${target.connections} connections to the target to close`);
      const beforeRestart = target.hits.length;
      const second = await start('server (after the restart)', 1000);
      const restarted = Date.now();

      reader = database.open();
      const db = reader.db;
      const statuses = () => runStatusCounts(db);
      let last: Record<string, number> = {};
      await waitFor(
        async () => {
          last = await statuses();
          return last.succeeded === RUNS;
        },
        45_000,
        () => `all ${RUNS} runs to succeed; runs by status: ${JSON.stringify(last)}; target calls ${target.hits.length}\n${outputsOf(servers)}`,
      );
      const done = Date.now();

      // Every run succeeded, with its one step.
      assert.deepEqual(await statuses(), { succeeded: RUNS });
      const steps = await db.selectFrom('run_steps').select(['run_id', 'status']).execute();
      assert.equal(steps.length, RUNS);
      assert.ok(steps.every((s) => s.status === 'succeeded'));
      const leased = await db.selectFrom('runs').select('id').where(sql<boolean>`lease_owner IS NOT NULL`).execute();
      assert.equal(leased.length, 0, 'finished runs hold no lease');

      // Every call carried the run's key; each was made once, or twice when it was in flight at the kill.
      const expected = new Set(runIds.map((id) => `${id}:call`));
      const unknown = [...target.counts.keys()].filter((k) => !expected.has(k));
      assert.deepEqual(unknown, [], 'every call carries `<run id>:<task key>`');
      const missing = [...expected].filter((k) => !target.counts.has(k));
      assert.deepEqual(missing, [], 'every run called the target');
      const counts = [...target.counts.values()];
      assert.ok(counts.every((n) => n >= 1 && n <= 2), `a call was made more than twice: ${JSON.stringify([...target.counts].filter(([, n]) => n > 2))}`);

      const beforeKeys = new Set(target.hits.slice(0, beforeRestart).map((h) => h.key));
      const afterHits = target.hits.slice(beforeRestart);
      assert.ok(beforeKeys.size >= KILL_AT && beforeKeys.size < RUNS, `the crash came mid-way (${beforeKeys.size} of ${RUNS} calls made before it)`);
      assert.equal(beforeKeys.size, beforeRestart, 'no call repeated before the crash');
      const repeatedAfter = [...new Set(afterHits.map((h) => h.key))].filter((k) => afterHits.filter((h) => h.key === k).length > 1);
      if (repeatedAfter.length > 0) {
        const detail = await Promise.all(
          repeatedAfter.map(async (k) => {
            const id = k.split(':')[0]!;
            const run = await db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
            const step = await db.selectFrom('run_steps').selectAll().where('run_id', '=', id).executeTakeFirst();
            const at = afterHits.filter((h) => h.key === k).map((h) => h.at - restarted);
            return { key: k, hitsMsAfterRestart: at, run, step };
          }),
        );
        assert.fail(`${repeatedAfter.length} calls were repeated by the restarted server:\n${JSON.stringify(detail, null, 1)}\n${outputsOf(servers)}`);
      }
      const twice = [...target.counts].filter(([, n]) => n === 2).map(([k]) => k);
      assert.ok(twice.every((k) => beforeKeys.has(k)), 'only calls made before the crash were repeated');
      assert.ok(
        twice.length <= CONCURRENCY,
        `${twice.length} calls were repeated, but at most ${CONCURRENCY} (the worker's concurrency) can have been in flight at the kill`,
      );
      console.log(
        `# ${dialect}: ${RUNS} runs; server killed after ${beforeRestart} calls (${beforeKeys.size} runs reached the target), ` +
          `${twice.length} calls repeated after the restart (bound ${CONCURRENCY}); ` +
          `start+define+create ${created - t0} ms, release→kill ${killed - created} ms, restart ${restarted - killed} ms, rest of the runs ${done - restarted} ms`,
      );
      await second.stop();
    });
  });
}
