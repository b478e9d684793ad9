/**
 * The Order example of API.md end to end, on each database, against the local HubSpot and Dropbox fakes:
 * connections through the API (Dropbox with refresh-token secrets), the Order type, the `copy_to_hubspot`
 * process (deal upsert, JSON receipt upload, entity.update with the deal id). An order entering `received`
 * makes exactly one deal and one file and both links; re-entering updates the same deal and file and moves
 * the links. A lost HubSpot answer (the write happened) is retried into the same deal. HubSpot's errors map
 * to run errors: 400/401/403 fail at once, 503 and 429 are retried.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from './support/databases.js';
import { startTestApp, type TestApp } from './support/app.js';
import { ORDER_TYPE } from './support/order.js';
import { clockPassed, eventually } from './support/wait.js';
import { startFakeHubSpot, type FakeHubSpot } from './fakes/hubspot.js';
import { startFakeDropbox, type FakeDropbox } from './fakes/dropbox.js';

/** API.md's Order, plus the deal id the process writes back and a way back to `new` (so it can re-enter `received`). */
const ORDER = {
  ...ORDER_TYPE,
  attributes: [...ORDER_TYPE.attributes, { key: 'hubspot_deal_id', type: 'string' }],
  transitions: [...ORDER_TYPE.transitions, { from: ['received'], to: 'new' }],
};

const RETRY = { maxAttempts: 4, initialDelayMs: 20, maxDelayMs: 100 };

const PROCESS = {
  name: 'Copy order to HubSpot',
  entityType: 'order',
  trigger: { status: 'received' },
  enabled: true,
  settings: { retry: RETRY, timeoutMs: 10_000, concurrency: 10 },
  tasks: [
    {
      key: 'deal',
      kind: 'hubspot.upsert',
      connection: 'hubspot_main',
      input: { object: 'deals', properties: "{ 'dealname': 'Order ' & order_number, 'amount': $string(total) }" },
    },
    {
      key: 'receipt',
      kind: 'dropbox.upload',
      connection: 'dropbox_main',
      input: { path: "'/orders/' & order_number & '.json'", content: '$string(entity)', mode: 'overwrite' },
    },
    { key: 'mark', kind: 'entity.update', input: { attributes: "{ 'hubspot_deal_id': tasks.deal.output.id }" } },
  ],
};

interface Link {
  connection: string;
  provider: string;
  externalType: string;
  externalId: string;
  url: string | null;
  runId: string;
  createdAt: string;
  updatedAt: string;
}

for (const dialect of DIALECTS) {
  describe(`connectors end to end (Order example) on ${dialect}`, () => {
    let t: TestApp;
    let hs: FakeHubSpot;
    let box: FakeDropbox;
    let n = 0;

    const ok = async (method: 'PUT' | 'POST' | 'PATCH', url: string, body: unknown) => {
      const res = await t.call(method, url, body);
      assert.ok(res.statusCode >= 200 && res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
      return res.json();
    };
    const getRun = async (id: string) => (await t.call('GET', `/api/v1/runs/${id}`)).json();
    const finished = (id: string, ms = 15_000) =>
      eventually(
        async () => {
          const r = await getRun(id);
          return ['succeeded', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
        },
        ms,
        `run ${id} to finish`,
      );
    const links = async (id: string): Promise<Link[]> => {
      const res = await t.call('GET', `/api/v1/entities/order/${id}/links`);
      assert.equal(res.statusCode, 200, res.body);
      return (res.json().items as Link[]).sort((a, b) => a.connection.localeCompare(b.connection));
    };
    const deals = () => [...hs.state.objects.get('deals')!.values()].filter((d) => !d.archived);
    const hubspotCalls = () => hs.requests.filter((r) => r.path.startsWith('/crm/'));
    /** A new order that enters `received` at once; returns it and its queued run. */
    const receiveOrder = async (total = 120) => {
      const e = await ok('POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${++n}`, total, customer_email: `c${n}@example.com` } });
      assert.deepEqual(e.statusPath ?? ['new', 'received'], ['new', 'received']);
      assert.equal(e.status, 'received');
      assert.equal(e.queuedRuns.length, 1, JSON.stringify(e.queuedRuns));
      assert.equal(e.queuedRuns[0].process, 'copy_to_hubspot');
      return { entity: e, runId: e.queuedRuns[0].id as string };
    };

    before(async () => {
      hs = await startFakeHubSpot({ uniqueProperties: { deals: ['statusflow_id'] } });
      box = await startFakeDropbox();
      t = await startTestApp(dialect, { worker: { pollMs: 50, leaseMs: 5000 } });
      await ok('PUT', '/api/v1/connections/hubspot_main', {
        provider: 'hubspot',
        name: 'HubSpot (fake)',
        config: { baseUrl: hs.url, uniqueProperties: { deals: 'statusflow_id' } },
        secrets: { accessToken: hs.token },
      });
      await ok('PUT', '/api/v1/connections/dropbox_main', {
        provider: 'dropbox',
        name: 'Dropbox (fake)',
        config: { baseUrl: box.url, contentUrl: box.contentUrl },
        secrets: { refreshToken: box.refreshToken, appKey: box.appKey, appSecret: box.appSecret },
      });
      await ok('PUT', '/api/v1/entity-types/order', ORDER);
      await ok('PUT', '/api/v1/processes/copy_to_hubspot', PROCESS);
    });
    after(async () => {
      await t?.close();
      await hs?.close();
      await box?.close();
    });

    test('an order entering received: one deal, one file, both links; re-entering updates the same deal and file', async () => {
      const t0 = Date.now();
      const { entity, runId } = await receiveOrder(120);
      const run = await finished(runId);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.steps.map((s: { task: string; status: string }) => `${s.task}:${s.status}`), ['deal:succeeded', 'receipt:succeeded', 'mark:succeeded']);

      // HubSpot: exactly one deal, with the mapped properties and the entity id in the unique property.
      assert.equal(deals().length, 1);
      const deal = deals()[0]!;
      assert.equal(deal.properties.dealname, `Order ${entity.attributes.order_number}`);
      assert.equal(deal.properties.amount, '120');
      assert.equal(deal.properties.statusflow_id, entity.id);
      assert.deepEqual(hubspotCalls().map((r) => `${r.method} ${r.path}`), ['POST /crm/v3/objects/deals/batch/upsert']);
      const dealStep = run.steps.find((s: { task: string }) => s.task === 'deal');
      assert.deepEqual(dealStep.output, { id: deal.id, object: 'deals', created: true, url: null });

      // Dropbox: a token was fetched with the refresh token, then one file holding the entity as JSON.
      assert.ok(box.requests.some((r) => r.path === '/oauth2/token'), 'the access token came from the refresh token');
      assert.equal(box.state.files.size, 1);
      const path = `/orders/${entity.attributes.order_number}.json`.toLowerCase();
      const file = box.state.files.get(path);
      assert.ok(file, `a file at ${path}; files: ${[...box.state.files.keys()].join(', ')}`);
      const written = JSON.parse(file.content.toString('utf8'));
      assert.equal(written.id, entity.id);
      assert.equal(written.attributes?.total ?? written.total, 120);
      const firstRev = file.rev;

      // entity.update wrote the deal id back.
      const saved = (await t.call('GET', `/api/v1/entities/order/${entity.id}`)).json();
      assert.equal(saved.attributes.hubspot_deal_id, deal.id);

      const [boxLink, hubLink] = await links(entity.id);
      assert.deepEqual(
        { ...hubLink, createdAt: undefined, updatedAt: undefined },
        { connection: 'hubspot_main', provider: 'hubspot', externalType: 'deals', externalId: deal.id, url: null, runId, createdAt: undefined, updatedAt: undefined },
      );
      assert.deepEqual(
        { ...boxLink, createdAt: undefined, updatedAt: undefined },
        { connection: 'dropbox_main', provider: 'dropbox', externalType: 'file', externalId: file.id, url: null, runId, createdAt: undefined, updatedAt: undefined },
      );
      const firstLinks = { hub: hubLink!, box: boxLink! };
      const tFirst = Date.now();

      // Saved again: back to new (a declared transition) with a new total, and on to received by the auto transition.
      await clockPassed(Math.max(Date.parse(hubLink!.updatedAt), Date.parse(boxLink!.updatedAt))); // so that updatedAt can move
      hs.requests.length = 0;
      const again = await ok('PATCH', `/api/v1/entities/order/${entity.id}`, { status: 'new', attributes: { total: 150 } });
      assert.equal(again.status, 'received');
      assert.equal(again.queuedRuns.length, 1, `re-entering received queues a run; statusPath ${JSON.stringify(again.statusPath)}`);
      const run2 = await finished(again.queuedRuns[0].id);
      assert.equal(run2.status, 'succeeded', JSON.stringify(run2.error));

      assert.equal(deals().length, 1, 'still one deal');
      assert.equal(deals()[0]!.id, deal.id);
      assert.equal(deals()[0]!.properties.amount, '150', 'the deal was updated');
      assert.deepEqual(hubspotCalls().map((r) => `${r.method} ${r.path}`), [`PATCH /crm/v3/objects/deals/${deal.id}`], 'updated through the link');
      assert.equal(run2.steps.find((s: { task: string }) => s.task === 'deal').output.created, false);
      assert.equal(box.state.files.size, 1, 'still one file');
      const file2 = box.state.files.get(path)!;
      assert.equal(file2.id, file.id, 'the same file');
      assert.notEqual(file2.rev, firstRev, 'a new revision');
      assert.equal(JSON.parse(file2.content.toString('utf8')).attributes?.total ?? JSON.parse(file2.content.toString('utf8')).total, 150);

      const [boxLink2, hubLink2] = await links(entity.id);
      for (const [before, now] of [
        [firstLinks.hub, hubLink2!],
        [firstLinks.box, boxLink2!],
      ] as const) {
        assert.equal(now.externalId, before.externalId);
        assert.equal(now.createdAt, before.createdAt);
        assert.equal(now.runId, run2.id, `${now.connection}: the link names the latest run`);
        assert.ok(Date.parse(now.updatedAt) > Date.parse(before.updatedAt), `${now.connection}: updatedAt moved (${before.updatedAt} → ${now.updatedAt})`);
      }
      console.log(`# ${dialect}: first run ${tFirst - t0} ms, second ${Date.now() - tFirst} ms`);
    });

    test('ad hoc processing with wait:true updates the same deal and file', async () => {
      const { entity, runId } = await receiveOrder(40);
      const file = () => box.state.files.get(`/orders/${entity.attributes.order_number}.json`.toLowerCase())!;
      assert.equal((await finished(runId)).status, 'succeeded');
      const dealsBefore = deals().length;
      const dealId = (await links(entity.id)).find((l) => l.provider === 'hubspot')!.externalId;
      const rev = file().rev;
      const filesBefore = box.state.files.size;
      const patched = await ok('PATCH', `/api/v1/entities/order/${entity.id}`, { attributes: { total: 41 } });
      assert.deepEqual(patched.queuedRuns, [], 'it stays in received: no run');
      const res = await t.call('POST', `/api/v1/entities/order/${entity.id}/process`, { process: 'copy_to_hubspot', wait: true });
      assert.equal(res.statusCode, 200, res.body);
      const { run } = res.json();
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.equal(deals().length, dealsBefore);
      assert.equal(hs.state.objects.get('deals')!.get(dealId)!.properties.amount, '41');
      assert.equal(box.state.files.size, filesBefore);
      assert.notEqual(file().rev, rev);
      const now = await links(entity.id);
      assert.equal(now.length, 2);
      assert.ok(now.every((l) => l.runId === run.id));
    });

    test('the answer is lost after HubSpot created the deal: the retry (same run) finds it — one deal, and the link', async () => {
      hs.requests.length = 0;
      hs.faults.dropResponses = 1;
      const { entity, runId } = await receiveOrder(77);
      const run = await finished(runId);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.equal(hs.faults.injected.droppedResponses, 1);
      const mine = deals().filter((d) => d.properties.statusflow_id === entity.id);
      assert.equal(mine.length, 1, 'exactly one deal for the order');
      const calls = hubspotCalls().map((r) => `${r.method} ${r.path}`);
      assert.deepEqual(calls, ['POST /crm/v3/objects/deals/batch/upsert', 'POST /crm/v3/objects/deals/batch/upsert'], 'both attempts upserted by statusflow_id');
      const step = run.steps.find((s: { task: string }) => s.task === 'deal');
      assert.equal(step.attempts, 2);
      assert.equal(step.output.id, mine[0]!.id);
      assert.equal(step.output.created, false, 'the retry updated the record the lost answer created');
      const hub = (await links(entity.id)).find((l) => l.provider === 'hubspot');
      assert.equal(hub?.externalId, mine[0]!.id);
      assert.equal(hub?.runId, runId);
    });

    test('HubSpot 400 VALIDATION_ERROR → the run fails at once with HUBSPOT_VALIDATION_ERROR and HubSpot\'s message', async () => {
      hs.requests.length = 0;
      const message = 'Property values were not valid: [{"isValid":false,"message":"101 is not a valid amount","error":"INVALID_FLOAT","name":"amount"}]';
      hs.faults.failNext(400, { status: 'error', message, correlationId: 'aaaaaaaa-0000-4000-8000-000000000001', category: 'VALIDATION_ERROR' });
      const { entity, runId } = await receiveOrder();
      const run = await finished(runId);
      assert.equal(run.status, 'failed');
      assert.equal(hubspotCalls().length, 1, 'no retry');
      assert.equal(run.error.code, 'HUBSPOT_VALIDATION_ERROR');
      assert.equal(run.error.retryable, false);
      assert.ok(run.error.message.includes(message), run.error.message);
      assert.deepEqual(await links(entity.id), []);
    });

    test('HubSpot 401 → non-retryable, the message names the connection', async () => {
      hs.requests.length = 0;
      hs.faults.failNext(401);
      const { runId } = await receiveOrder();
      const run = await finished(runId);
      assert.equal(run.status, 'failed');
      assert.equal(hubspotCalls().length, 1);
      assert.equal(run.error.code, 'HUBSPOT_AUTHENTICATION');
      assert.equal(run.error.retryable, false);
      assert.match(run.error.message, /hubspot_main/);
      assert.ok(!run.error.message.includes(hs.token), 'no token in the message');
    });

    test('HubSpot 403 MISSING_SCOPES → non-retryable HUBSPOT_MISSING_SCOPES', async () => {
      hs.requests.length = 0;
      hs.faults.failNext(403, {
        status: 'error',
        message: 'This app hasn\'t been granted all required scopes to make this call.',
        correlationId: 'aaaaaaaa-0000-4000-8000-000000000002',
        category: 'MISSING_SCOPES',
        errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: ['crm.objects.deals.write'] } }],
      });
      const { runId } = await receiveOrder();
      const run = await finished(runId);
      assert.equal(run.status, 'failed');
      assert.equal(hubspotCalls().length, 1);
      assert.equal(run.error.code, 'HUBSPOT_MISSING_SCOPES');
      assert.equal(run.error.retryable, false);
      assert.match(run.error.message, /hubspot_main/);
    });

    test('HubSpot 503 then success → retried and succeeded', async () => {
      hs.requests.length = 0;
      hs.faults.failNext(503);
      const { entity, runId } = await receiveOrder();
      const run = await finished(runId);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.equal(hubspotCalls().length, 2);
      assert.equal(run.steps.find((s: { task: string }) => s.task === 'deal').attempts, 2);
      assert.equal(deals().filter((d) => d.properties.statusflow_id === entity.id).length, 1);
    });

    test('HubSpot 429 TEN_SECONDLY_ROLLING then success → retried after the pause and succeeded', async () => {
      hs.requests.length = 0;
      // The fake's 429 carries the window headers (10 s); Retry-After (1 s) takes precedence and keeps the test short.
      hs.faults.failNext(429, undefined, { 'retry-after': '1' });
      const { entity, runId } = await receiveOrder();
      const run = await finished(runId, 20_000);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      const calls = hubspotCalls();
      assert.equal(calls.length, 2);
      assert.equal(calls[0]!.status, 429);
      assert.equal(hs.rateLimited, 0, 'an injected 429, not a genuine one');
      const gap = calls[1]!.at - calls[0]!.at;
      assert.ok(gap >= 900, `the retry waited for Retry-After (${gap} ms)`);
      assert.equal(run.steps.find((s: { task: string }) => s.task === 'deal').attempts, 2);
      assert.equal(deals().filter((d) => d.properties.statusflow_id === entity.id).length, 1);
    });
  });
}
