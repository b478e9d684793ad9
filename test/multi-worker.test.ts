/**
 * Scale-out on Postgres: one API-only `statusflow start` and three `statusflow worker` processes
 * share one database. 2,000 runs are queued through the API; every run succeeds, every HTTP step is
 * executed exactly once, nothing is left queued or running, all three workers take part, and the
 * process's concurrency limit holds across the workers. The API server's event stream, though that
 * process runs nothing, shows every run's `running` and `succeeded` (relayed from the workers).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
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
import { openStream } from './support/stream.js';

const RUNS = 2000;
const WORKERS = 3;
/** Runs each worker process executes at once. */
const WORKER_CONCURRENCY = 16;
/** The process's own limit, across all workers: lower than 3 × 16 so that it binds. */
const PROCESS_CONCURRENCY = 24;

const skip = process.env.TEST_DATABASE_URL ? false : 'needs Postgres: set TEST_DATABASE_URL (several workers share one database only on Postgres)';

describe('three workers on one Postgres', { skip }, () => {
  let target: CountingTarget;
  let database: ChildDatabase;
  let reader: Database | undefined;
  const procs: ServerProcess[] = [];

  before(async () => {
    target = await startCountingTarget(() => 1 + Math.random() * 4);
    database = await createChildDatabase('postgres');
  });
  after(async () => {
    for (const p of procs) await p.kill();
    await reader?.close();
    await target?.close();
    await database?.drop();
  });

  test(`${RUNS} runs: each step executed exactly once, all workers take part, none stuck`, { timeout: 900_000 }, async () => {
    const t0 = Date.now();
    const env = { ...database.env, STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY, STATUSFLOW_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY), STATUSFLOW_POLL_MS: '200' };
    const apiServer = await startServerProcess({ command: 'start', name: 'api (no workers)', env: { ...env, STATUSFLOW_WORKERS: '0', LOG_LEVEL: 'warn' } });
    procs.push(apiServer);
    const workers = await Promise.all(
      Array.from({ length: WORKERS }, (_, i) => startServerProcess({ command: 'worker', name: `worker ${i + 1}`, env: { ...env, STATUSFLOW_WORKERS: '1' } })),
    );
    procs.push(...workers);
    const started = Date.now();

    const put = async (path: string, body: unknown) => {
      const res = await api(apiServer.origin, 'PUT', path, body);
      assert.ok(res.status === 200 || res.status === 201, `PUT ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    };
    await put('/api/v1/entity-types/order', ORDER_TYPE);
    await put('/api/v1/processes/notify', {
      name: 'Notify',
      entityType: 'order',
      trigger: { status: 'received' },
      settings: { concurrency: PROCESS_CONCURRENCY, retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 500 } },
      tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/hook'`, body: "{ 'n': order_number }" } }],
    });

    const stream = await openStream(apiServer.origin, TEST_ADMIN_KEY);
    /** The statuses each run went through, as the stream told them. */
    const streamed = () => {
      const statuses = new Map<string, string[]>();
      for (const e of stream.events) {
        if (e.event !== 'run.updated') continue;
        const run = e.data as { id: string; status: string };
        statuses.set(run.id, [...(statuses.get(run.id) ?? []), run.status]);
      }
      return statuses;
    };

    reader = database.open();
    const db = reader.db;
    // Which worker holds which run, sampled while they work (the lease owner is cleared when a run ends).
    const pidOfOwner = (owner: string) => Number(owner.split(':').at(-2));
    const seenBy = new Map<string, number>(); // run id → worker pid
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows = await db.selectFrom('runs').select(['id', 'lease_owner']).where('status', '=', 'running').execute();
        for (const r of rows) if (r.lease_owner) seenBy.set(r.id, pidOfOwner(r.lease_owner));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    const runIds = await mapConcurrent(Array.from({ length: RUNS }, (_, i) => i), 8, async (i) => {
      const res = await api(apiServer.origin, 'POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${i + 1}`, total: 10 + i, customer_email: `c${i}@example.com` } });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.equal(res.json.queuedRuns.length, 1);
      return res.json.queuedRuns[0].id as string;
    });
    const created = Date.now();

    const statuses = () => runStatusCounts(db);
    // However long the machine's load makes it take, the runs must keep finishing: a stall is the failure.
    const unfinished = (c: Record<string, number>) => (c.queued ?? 0) + (c.running ?? 0) + (c.waiting ?? 0);
    try {
      await whileProgressing(
        statuses,
        (c) => c.succeeded === RUNS || unfinished(c) === 0,
        (c) => RUNS - unfinished(c),
        20_000,
        (c) => `all ${RUNS} runs to finish; runs by status: ${JSON.stringify(c)}; target calls ${target.hits.length}\n${outputsOf(procs)}`,
      );
    } finally {
      sampling = false;
      await sampler;
    }
    const done = Date.now();

    assert.deepEqual(await statuses(), { succeeded: RUNS }, `runs by status\n${outputsOf(procs)}`);
    const steps = await db.selectFrom('run_steps').select(['run_id', 'status', 'attempts']).execute();
    assert.equal(steps.length, RUNS);
    assert.ok(steps.every((s) => s.status === 'succeeded' && s.attempts === 1), 'every step succeeded at its first attempt');

    const expected = new Set(runIds.map((id) => `${id}:call`));
    assert.deepEqual([...target.counts.keys()].filter((k) => !expected.has(k)), [], 'every call carries `<run id>:<task key>`');
    assert.deepEqual([...expected].filter((k) => !target.counts.has(k)), [], 'every run called the target');
    const repeated = [...target.counts].filter(([, n]) => n !== 1);
    assert.deepEqual(repeated, [], `each step is executed exactly once\n${outputsOf(procs)}`);
    assert.equal(target.hits.length, RUNS);

    const perWorker = workers.map((w) => [...seenBy.values()].filter((pid) => pid === w.pid).length);
    assert.ok(
      perWorker.every((n) => n > 0),
      `every worker ran some of the runs; runs seen running per worker (sampled): ${perWorker.join(', ')}\n${outputsOf(procs)}`,
    );
    assert.ok(target.maxInFlight <= PROCESS_CONCURRENCY, `the process's concurrency limit (${PROCESS_CONCURRENCY}) held across workers; ${target.maxInFlight} calls were in flight at once`);
    for (const w of workers) assert.ok(w.alive, `${w.name} is still running`);

    // The stream of the API server, which ran nothing itself, heard of every run from the workers.
    const succeededOnStream = () => {
      const statuses = streamed();
      return runIds.filter((id) => statuses.get(id)?.includes('succeeded')).length;
    };
    await waitFor(async () => succeededOnStream() === RUNS, 10_000, () => `"succeeded" of all ${RUNS} runs on the API server's stream; ${succeededOnStream()} there`);
    const onStream = streamed();
    const missingRunning = runIds.filter((id) => !onStream.get(id)?.includes('running'));
    assert.deepEqual(missingRunning, [], 'every run\'s "running" reached the stream too');
    stream.close();

    console.log(
      `# stream of the API server: ${stream.events.length} events; ${RUNS} runs on ${WORKERS} workers: runs seen running per worker (sampled, ${seenBy.size} of ${RUNS}) ${perWorker.join(' / ')}; ` +
        `most calls in flight at once ${target.maxInFlight} (limit ${PROCESS_CONCURRENCY}); ` +
        `start ${started - t0} ms, create ${created - started} ms, rest of the runs ${done - created} ms`,
    );
    await Promise.all([apiServer, ...workers].map((p) => p.stop()));
    for (const w of workers) assert.equal(w.child.exitCode, 0, `${w.name} shut down cleanly\n${outputsOf([w])}`);
  });
});
