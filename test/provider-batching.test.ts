/**
 * Provider batching end to end (docs/provider-batching.md), on each database: live saves of orders trigger a
 * hubspot.upsert process with default settings; the worker groups the steps into HubSpot batch calls of up to
 * 100, each run getting its own record, link or failure. The steps that arrive while a call is in flight are
 * what the next call carries: the fake holds its answers (faults.pause) until the test has seen the steps
 * waiting in the batcher, so what each call carries does not depend on timing.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from './support/databases.js';
import { startTestApp, type TestApp } from './support/app.js';
import { ORDER_TYPE } from './support/order.js';
import { eventually } from './support/wait.js';
import { runStatusCounts } from './support/server-process.js';
import { startFakeHubSpot, type FakeHubSpot } from './fakes/hubspot.js';

const PROCESS = {
  name: 'Copy order to HubSpot',
  entityType: 'order',
  trigger: { status: 'received' },
  tasks: [
    {
      key: 'deal',
      kind: 'hubspot.upsert',
      connection: 'hubspot_main',
      input: { object: 'deals', properties: "{ 'dealname': 'Order ' & order_number, 'amount': $string(total) }" },
    },
  ],
};

for (const dialect of DIALECTS) {
  describe(`provider batching on ${dialect}`, () => {
    let t: TestApp;
    let hs: FakeHubSpot;
    let n = 0;
    let acquired = 0;

    const ok = async (method: 'PUT' | 'POST', url: string, body: unknown) => {
      const res = await t.call(method, url, body);
      assert.ok(res.statusCode >= 200 && res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
      return res.json();
    };
    const order = (total = 120) => ok('POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${++n}`, total, customer_email: `c${n}@example.com` } });
    const upserts = () => hs.requests.filter((r) => r.path.startsWith('/crm/v3/objects/deals/batch/'));
    const sizes = () => upserts().map((r) => (r.body as { inputs: unknown[] }).inputs.length);
    const deals = () => [...hs.state.objects.get('deals')!.values()].filter((d) => !d.archived);
    const settled = (total: number, ms = 120_000) =>
      eventually(async () => {
        const c = await runStatusCounts(t.services.database.db);
        return (c.succeeded ?? 0) + (c.failed ?? 0) >= total ? c : undefined;
      }, ms, `${total} runs to end`);

    before(async () => {
      hs = await startFakeHubSpot({ uniqueProperties: { deals: ['statusflow_id'] } });
      // The worker as `statusflow start` makes it: no concurrency tuning.
      t = await startTestApp(dialect, { worker: {} });
      const limiter = t.services.rateLimiter;
      const acquire = limiter.acquire.bind(limiter);
      limiter.acquire = (...a) => {
        acquired++;
        return acquire(...a);
      };
      await ok('PUT', '/api/v1/connections/hubspot_main', { provider: 'hubspot', config: { baseUrl: hs.url, uniqueProperties: { deals: 'statusflow_id' } }, secrets: { accessToken: hs.token } });
      await ok('PUT', '/api/v1/entity-types/order', ORDER_TYPE);
      const p = await ok('PUT', '/api/v1/processes/copy_to_hubspot', PROCESS);
      assert.equal(p.settings.concurrency, 400, 'a process with a batchable task defaults to room for a full call in flight, one gathering and one on its way');
    });
    after(async () => {
      await t?.close();
      await hs?.close();
    });
    beforeEach(async () => {
      // Everything before this test has ended: each test starts with an idle lane.
      await settled(n);
      hs.faults.reset();
      hs.clearRefusals();
      hs.batchValidation = 'per-input';
      hs.requests.length = 0;
      acquired = 0;
    });

    const holding = (k: number) => eventually(() => t.executor!.batcher.holding >= k, 120_000, `${k} steps in the batcher`);

    test('a burst of 300 live saves with default settings: about 3–4 HubSpot calls of ~100, not 300; one rate-limit slot per call', async () => {
      hs.faults.pause();
      const before = { ...t.executor!.batcher.counters };
      await Promise.all(Array.from({ length: 300 }, () => order()));
      // While the first call is in flight, each full 100 goes out beside it (batcher.ts CALLS_IN_FLIGHT) and the
      // rest gathers behind them. The calls are answered once every step has reached the batcher: as with HubSpot,
      // whose answers take far longer than a step takes to reach the batcher.
      while (deals().length < 300) {
        await eventually(() => hs.faults.held >= 1 && t.executor!.batcher.holding >= Math.min(300, 300 - deals().length), 120_000, 'the next call');
        const made = deals().length;
        hs.faults.release(hs.faults.held);
        await eventually(() => deals().length > made, 120_000, 'the answers');
      }
      hs.faults.resume();
      const counts = await settled(n);
      assert.equal(counts.succeeded, 300, JSON.stringify(counts));
      assert.equal(deals().length, 300);
      const s = sizes();
      // The first call goes out at once with the steps already on their way (often just 1); the rest gather behind it.
      assert.equal(s.reduce((a, b) => a + b, 0), 300);
      assert.ok(s.length <= 4 && s.slice(1, -1).every((x) => x === 100), `calls: ${s.join(', ')}`); // 1, 100, 100, 99 or 81, 100, 100, 19
      assert.equal(Math.max(...s), 100, `calls: ${s.join(', ')}`);
      // The first step found no call in flight and went out at once; the others gathered behind it.
      const c = t.executor!.batcher.counters;
      assert.ok(c.immediate - before.immediate >= 1);
      assert.equal(acquired, hs.requests.length, 'each HubSpot call took one slot of the rate limit, whatever it carried');
    });

    for (const mode of ['per-input', 'whole-call'] as const) {
      test(`a record HubSpot refuses inside a call of 100 (${mode === 'per-input' ? '207' : '400'}): only its run fails, with HUBSPOT_VALIDATION_ERROR; 99 succeed with links`, async () => {
        hs.batchValidation = mode;
        hs.refuse('deals', 'amount', '42');
        hs.faults.pause();
        await order(); // goes out alone at once; the next 100 gather into one call
        await eventually(() => hs.faults.held === 1); // (saved meanwhile, some would be on their way and join it)
        const saved = await Promise.all(Array.from({ length: 100 }, (_, i) => order(i === 37 ? 42 : 100 + i)));
        await holding(101);
        await eventually(() => hs.faults.held === 2); // the 100 are a full call: it goes out beside the first
        hs.faults.resume();
        await settled(n);
        const first = upserts().find((r) => (r.body as { inputs: Array<{ properties: { amount: string } }> }).inputs.some((i) => i.properties.amount === '42'));
        assert.equal((first!.body as { inputs: unknown[] }).inputs.length, 100, 'the refused record went out in a call of 100');
        for (const [i, e] of saved.entries()) {
          const run = (await t.call('GET', `/api/v1/runs/${e.queuedRuns[0].id}`)).json();
          const links = (await t.call('GET', `/api/v1/entities/order/${e.id}/links`)).json().items;
          if (i === 37) {
            assert.equal(run.status, 'failed');
            assert.equal(run.error.code, 'HUBSPOT_VALIDATION_ERROR');
            assert.equal(run.steps[0].error.retryable, false);
            assert.equal(links.length, 0);
          } else {
            assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
            assert.equal(links.length, 1);
            assert.equal(links[0].externalId, run.steps[0].output.id);
          }
        }
      });
    }

    test('a grouped call whose answer is lost: every run retries, and the replay creates no duplicate', async () => {
      const retrying = { ...PROCESS, name: 'Retrying copy', trigger: { status: 'approved' }, settings: { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 } } };
      await ok('PUT', '/api/v1/processes/retrying_copy', retrying);
      const ids = await Promise.all(Array.from({ length: 40 }, () => order(300)));
      await settled(n);
      hs.requests.length = 0;
      const dealsBefore = deals().length;
      hs.faults.dropResponses = 1;
      // Paying approves the orders: the second process upserts the same deals again (linked now: batch update).
      await Promise.all(ids.map((e) => ok('POST', `/api/v1/entities/order/${e.id}/process`, { process: 'retrying_copy' })));
      const counts = await settled(n + 40);
      const failed = (await t.call('GET', '/api/v1/runs?status=failed&process=retrying_copy')).json().items;
      assert.equal(failed.length, 0, JSON.stringify(failed.map((r: { error: unknown }) => r.error)));
      void counts;
      assert.equal(deals().length, dealsBefore, 'no duplicate');
      assert.ok(hs.requests.some((r) => r.fault === 'dropResponse'), 'an answer was lost');
    });
  });
}
