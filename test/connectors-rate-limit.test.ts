/**
 * The HubSpot rate limit shared across processes, on Postgres: an API-only `statusflow start` and two
 * `statusflow worker` processes share one database and one `hubspot_main` connection whose `rateLimit` is the
 * fake's window (20 requests per 1,000 ms — HubSpot's 100 per 10 s scaled down for test time). 300 orders →
 * 300 runs of one `hubspot.upsert` each: every run succeeds with one request each, and HubSpot never has
 * to answer 429 (counted by the fake). The achieved rate is printed, not asserted: on a loaded machine it
 * measures the machine; that slots come as soon as the window has room is proven on a test clock in
 * test/engine/rate-limiter.test.ts.
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
  startServerProcess,
  TEST_ADMIN_KEY,
  type ChildDatabase,
  type ServerProcess,
} from './support/server-process.js';
import { startFakeHubSpot, type FakeHubSpot } from './fakes/hubspot.js';
import type { Database } from '../src/store/db.js';
import { whileProgressing } from './support/wait.js';

const RUNS = 300;
const WORKERS = 2;
const LIMIT = { requests: 20, perMs: 1000 };
const TARGET_RATE = (LIMIT.requests * 1000) / LIMIT.perMs; // per second

const skip = process.env.TEST_DATABASE_URL ? false : 'needs Postgres: set TEST_DATABASE_URL (several worker processes share one database only on Postgres)';

describe('HubSpot rate limit shared by two worker processes on Postgres', { skip }, () => {
  let hs: FakeHubSpot;
  let database: ChildDatabase;
  let reader: Database | undefined;
  const procs: ServerProcess[] = [];

  before(async () => {
    hs = await startFakeHubSpot({ rateLimit: LIMIT, uniqueProperties: { deals: ['statusflow_id'] } });
    database = await createChildDatabase('postgres');
  });
  after(async () => {
    for (const p of procs) await p.kill();
    await reader?.close();
    await hs?.close();
    await database?.drop();
  });

  test(`${RUNS} upserts at ${LIMIT.requests}/${LIMIT.perMs} ms: all succeed, no 429, never over the limit`, { timeout: 600_000 }, async () => {
    const t0 = Date.now();
    const env = { ...database.env, STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY, STATUSFLOW_WORKER_CONCURRENCY: '16', STATUSFLOW_POLL_MS: '100' };
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
    await put('/api/v1/connections/hubspot_main', {
      provider: 'hubspot',
      config: { baseUrl: hs.url, uniqueProperties: { deals: 'statusflow_id' }, rateLimit: LIMIT },
      secrets: { accessToken: hs.token },
    });
    await put('/api/v1/entity-types/order', ORDER_TYPE);
    await put('/api/v1/processes/copy_to_hubspot', {
      name: 'Copy order to HubSpot',
      entityType: 'order',
      trigger: { status: 'received' },
      settings: { concurrency: 32, retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 2000 }, timeoutMs: 30_000 },
      tasks: [
        {
          key: 'deal',
          kind: 'hubspot.upsert',
          connection: 'hubspot_main',
          input: { object: 'deals', properties: "{ 'dealname': 'Order ' & order_number, 'amount': $string(total) }" },
        },
      ],
    });

    await mapConcurrent(Array.from({ length: RUNS }, (_, i) => i), 8, async (i) => {
      const res = await api(apiServer.origin, 'POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${i + 1}`, total: 10 + i, customer_email: `c${i}@example.com` } });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.equal(res.json.queuedRuns.length, 1);
    });
    const created = Date.now();

    reader = database.open();
    const db = reader.db;
    const statuses = () => runStatusCounts(db);
    // 300 requests at 20/s take 15 s on an idle machine; however long it takes, the runs must keep finishing.
    const unfinished = (c: Record<string, number>) => (c.queued ?? 0) + (c.running ?? 0) + (c.waiting ?? 0);
    await whileProgressing(
      statuses,
      (c) => c.succeeded === RUNS || unfinished(c) === 0,
      (c) => RUNS - unfinished(c),
      20_000,
      (c) => `all ${RUNS} runs to finish; runs by status: ${JSON.stringify(c)}; HubSpot requests ${hs.requests.length}, 429s ${hs.rateLimited}\n${outputsOf(procs)}`,
    );
    const done = Date.now();

    const calls = hs.requests.filter((r) => r.path.startsWith('/crm/'));
    const first = calls[0]!.at;
    const lastAt = calls.at(-1)!.at;
    const rate = ((calls.length - 1) * 1000) / (lastAt - first);
    // The most requests the fake saw in any rolling window (its own definition: (at - perMs, at]).
    let maxInWindow = 0;
    for (let i = 0, j = 0; i < calls.length; i++) {
      while (calls[j]!.at <= calls[i]!.at - LIMIT.perMs) j++;
      maxInWindow = Math.max(maxInWindow, i - j + 1);
    }
    const summary =
      `${calls.length} HubSpot requests in ${lastAt - first} ms = ${rate.toFixed(2)}/s (limit ${TARGET_RATE}/s); ` +
      `genuine 429s ${hs.rateLimited}; most in one window ${maxInWindow}; ` +
      `start ${started - t0} ms, create ${created - started} ms, done ${done - created} ms after the last create`;
    console.log(`# ${summary}`);

    assert.deepEqual(await statuses(), { succeeded: RUNS }, `runs by status; ${summary}\n${outputsOf(procs)}`);
    assert.equal(hs.rateLimited, 0, `HubSpot never had to refuse a request; ${summary}`);
    const deals = [...hs.state.objects.get('deals')!.values()].filter((d) => !d.archived);
    assert.equal(deals.length, RUNS, 'one deal per order');
    // Provider batching (docs/provider-batching.md) groups steps ready together: at most one request per
    // run, and at least one per 100 records.
    assert.ok(calls.length <= RUNS && calls.length >= Math.ceil(RUNS / 100), `between ${Math.ceil(RUNS / 100)} and ${RUNS} requests; ${summary}`);
    assert.ok(maxInWindow <= LIMIT.requests, `never more than the limit in one of the fake's windows; ${summary}`);

    // Both workers are still up and shut down cleanly.
    for (const w of workers) assert.ok(w.alive, `${w.name} is still running`);
    await Promise.all([apiServer, ...workers].map((p) => p.stop()));
    for (const w of workers) assert.equal(w.child.exitCode, 0, `${w.name} shut down cleanly\n${outputsOf([w])}`);
  });
});
