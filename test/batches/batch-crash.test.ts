/**
 * Issue 12's durability proof, end to end with the real server as a child process: 2,000 orders, a batch
 * over those not linked to hubspot_main (100 more orders are linked already and must be left out), the
 * server killed with SIGKILL mid-batch and started again. The batch completes by itself; every order has
 * exactly one deal in the fake HubSpot (none twice: the upsert is keyed by the order's id, and each item
 * got exactly one run); and the deals went out in HubSpot batch calls (~100 per call), not one call each.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { ORDER_TYPE } from '../support/order.js';
import { api, createChildDatabase, outputsOf, startServerProcess, TEST_ADMIN_KEY, waitFor, type ChildDatabase, type ServerProcess } from '../support/server-process.js';
import { startFakeHubSpot, type FakeHubSpot } from '../fakes/hubspot.js';
import { newId } from '../../src/domain/ids.js';
import type { Database } from '../../src/store/db.js';

const ORDERS = 2000;
const LINKED = 100;
/** The server is killed once the fake holds this many deals. */
const KILL_AT = 500;

for (const dialect of DIALECTS) {
  describe(`batch through kill -9 on ${dialect}`, () => {
    let hs: FakeHubSpot;
    let database: ChildDatabase;
    let reader: Database | undefined;
    const servers: ServerProcess[] = [];

    before(async () => {
      // HubSpot's own limit (100 calls per 10 s) on both sides: steps gather while a call waits for its slot.
      hs = await startFakeHubSpot({ uniqueProperties: { deals: ['statusflow_id'] } });
      // A batch upsert of 100 records takes HubSpot a few hundred ms; the fake answers as slowly.
      hs.faults.latencyMs = 300;
      database = await createChildDatabase(dialect);
    });
    after(async () => {
      for (const s of servers) await s.kill();
      await reader?.close();
      await hs?.close();
      await database?.drop();
    });

    const start = async (name: string) => {
      const s = await startServerProcess({
        command: 'start',
        name,
        env: { ...database.env, STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY, LOG_LEVEL: 'warn', STATUSFLOW_WORKERS: '1', STATUSFLOW_WORKER_CONCURRENCY: '250', STATUSFLOW_LEASE_MS: '2000', STATUSFLOW_POLL_MS: '100' },
      });
      servers.push(s);
      return s;
    };

    test(`${ORDERS} orders not in HubSpot: kill -9 mid-batch, restart → completes by itself, one deal each, in batch calls`, { timeout: 240_000 }, async () => {
      const first = await start('server (before the crash)');
      const ok = async (method: string, path: string, body?: unknown) => {
        const res = await api(first.origin, method, path, body);
        assert.ok(res.status >= 200 && res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
        return res.json;
      };
      await ok('PUT', '/api/v1/entity-types/order', ORDER_TYPE);
      await ok('PUT', '/api/v1/connections/hubspot_main', {
        provider: 'hubspot',
        name: 'HubSpot (fake)',
        config: { baseUrl: hs.url, uniqueProperties: { deals: 'statusflow_id' } },
        secrets: { accessToken: hs.token },
      });
      await ok('PUT', '/api/v1/processes/copy_to_hubspot', {
        name: 'Copy order to HubSpot',
        entityType: 'order',
        trigger: { manual: true },
        // Default concurrency: 400 for a process with a batchable task; the batch's window is 360.
        settings: { retry: { maxAttempts: 6, initialDelayMs: 100, maxDelayMs: 2000 } },
        tasks: [{ key: 'deal', kind: 'hubspot.upsert', connection: 'hubspot_main', input: { object: 'deals', properties: "{ 'dealname': 'Order ' & order_number, 'amount': $string(total) }" } }],
      });

      // The orders are written straight into the database (2,100 saves over HTTP would be most of the test's time).
      reader = database.open();
      const { db } = reader;
      const org = (await db.selectFrom('organizations').select('id').executeTakeFirstOrThrow()).id;
      const now = new Date().toISOString();
      const ids: string[] = [];
      for (let i = 0; i < ORDERS + LINKED; i += 250) {
        const rows = Array.from({ length: Math.min(250, ORDERS + LINKED - i) }, (_, j) => {
          const n = i + j + 1;
          const id = newId();
          ids.push(id);
          const attributes = { order_number: `ORD-${n}`, total: 10 + n, customer_email: `c${n}@example.com`, paid: true };
          return { id, org_id: org, type: 'order', status: 'approved', attributes: JSON.stringify(attributes), version: 1, created_at: now, updated_at: now };
        });
        await db.insertInto('entities').values(rows).execute();
      }
      const linked = ids.slice(ORDERS);
      await db
        .insertInto('links')
        .values(linked.map((id, i) => ({ org_id: org, entity_id: id, entity_type: 'order', connection: 'hubspot_main', provider: 'hubspot', external_type: 'deals', external_id: `old-${i}`, url: null, run_id: null, created_at: now, updated_at: now })))
        .execute();

      const body = { process: 'copy_to_hubspot', filter: { status: ['approved'], linked: { connection: 'hubspot_main', exists: false } } };
      assert.equal((await ok('POST', '/api/v1/batches/preview', body)).total, ORDERS);
      const batch = await ok('POST', '/api/v1/batches', body);
      assert.equal(batch.total, ORDERS);
      const deals = () => hs.state.objects.get('deals')!;
      await waitFor(async () => deals().size >= KILL_AT, 60_000, () => `${KILL_AT} deals before the kill (have ${deals().size})\n${outputsOf(servers)}`);
      await first.kill();
      const atKill = deals().size;
      assert.ok(atKill < ORDERS, `the kill came mid-batch (${atKill} deals)`);

      const second = await start('server (after the restart)');
      let last: Record<string, unknown> = {};
      await waitFor(
        async () => {
          last = (await api(second.origin, 'GET', `/api/v1/batches/${batch.id}`)).json;
          return last.status === 'completed';
        },
        150_000,
        () => `the batch to complete after the restart: ${JSON.stringify(last)}\n${outputsOf(servers)}`,
      );
      assert.deepEqual([last.succeeded, last.failed, last.skipped, last.cancelled], [ORDERS, 0, 0, 0], JSON.stringify({ batch: last, failed: (await api(second.origin, 'GET', `/api/v1/batches/${batch.id}/items?status=failed&limit=5`)).json }));

      // One run per item: unique per batch and entity.
      const runs = await db.selectFrom('runs').select(['entity_id', 'status']).where('batch_id', '=', batch.id).execute();
      assert.equal(runs.length, ORDERS);
      assert.equal(new Set(runs.map((r) => r.entity_id)).size, ORDERS);
      assert.ok(runs.every((r) => r.status === 'succeeded'));
      // Exactly one deal per order not linked before; none for the linked ones; none twice.
      const byOrder = new Map<string, number>();
      for (const d of deals().values()) byOrder.set(d.properties.statusflow_id!, (byOrder.get(d.properties.statusflow_id!) ?? 0) + 1);
      assert.equal(deals().size, ORDERS);
      assert.deepEqual(ids.slice(0, ORDERS).filter((id) => byOrder.get(id) !== 1), [], 'orders without exactly one deal');
      assert.ok(linked.every((id) => !byOrder.has(id)));
      // Provider batching (a capability of hubspot.upsert): about 20 calls for 2,000 deals, not 2,000.
      const calls = hs.requests.filter((r) => r.method === 'POST' && r.path === '/crm/v3/objects/deals/batch/upsert');
      const sizes = calls.map((c) => ((c.body as { inputs?: unknown[] } | undefined)?.inputs ?? []).length);
      console.log(`# ${dialect}: ${ORDERS} deals; killed at ${atKill}; ${calls.length} HubSpot batch upsert calls (records per call: ${sizes.join(' ')}); ${hs.rateLimited} 429s`);
      // 20 full calls, plus the first (sent at once with what had arrived), the first after the restart and the
      // last: 22–24 on both databases at load 8–10 (2026-12-08, after Postgres claims and commits took fewer
      // round trips). Groups hold what arrives while a call is out, fewer on a machine too loaded to claim 100 runs
      // in a call's 300 ms: 41 on Postgres at load 25 before those changes. The bound keeps room for that.
      assert.ok(calls.length <= 45, `${calls.length} batch upsert calls for ${ORDERS} deals: expected ~22 (groups of up to 100; up to ~40 on a loaded machine), not one per deal`);
      await second.stop();
    });
  });
}
