import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeHubSpot, type FakeHubSpot } from '../../../test/fakes/hubspot.js';
import { connectionContext, failureOf, taskContext, type TestConnectionContext } from '../../../test/support/connection-context.js';
import { hubspotProperties, hubspotUpsert, HubSpotUpsertInputSchema, type HubSpotUpsertInput, type HubSpotUpsertOutput } from './upsert.js';

let hs: FakeHubSpot;

before(async () => {
  hs = await startFakeHubSpot({ uniqueProperties: { deals: ['statusflow_id'], companies: ['statusflow_id', 'vat_number'] } });
});
after(() => hs.close());
beforeEach(() => {
  hs.faults.reset();
  hs.setRateLimit({ requests: 100, perMs: 10_000 });
  for (const t of hs.state.objects.values()) t.clear();
  hs.requests.length = 0;
});

function hubspot(config: Record<string, unknown> = {}, token = hs.token): TestConnectionContext {
  return connectionContext({ key: 'hubspot_main', provider: 'hubspot', config: { baseUrl: hs.url, uniqueProperties: { deals: 'statusflow_id', companies: 'statusflow_id' }, ...config }, secrets: { accessToken: token } });
}

async function upsert(cc: TestConnectionContext, input: HubSpotUpsertInput, entityId = 'ent_1'): Promise<HubSpotUpsertOutput> {
  cc.runEntityId = entityId;
  return (await hubspotUpsert.run(input, taskContext(cc, { id: entityId }))) as HubSpotUpsertOutput;
}

const deals = () => [...hs.state.objects.get('deals')!.values()].filter((d) => !d.archived);
const contacts = () => [...hs.state.objects.get('contacts')!.values()].filter((d) => !d.archived);
const paths = () => hs.requests.map((r) => `${r.method} ${r.path}`);

test('a deal is created once by upsert on the unique property, then updated through the link', async () => {
  const cc = hubspot();
  const first = await upsert(cc, { object: 'deals', properties: { dealname: 'Order ORD-1', amount: 120 } });
  assert.deepEqual(first, { id: first.id, object: 'deals', created: true, url: null });
  assert.deepEqual(paths(), ['POST /crm/v3/objects/deals/batch/upsert']);
  assert.deepEqual(hs.requests[0]!.body, { inputs: [{ idProperty: 'statusflow_id', id: 'ent_1', properties: { dealname: 'Order ORD-1', amount: '120', statusflow_id: 'ent_1' } }] });
  assert.equal(hs.requests[0]!.headers.authorization, `Bearer ${hs.token}`);
  assert.deepEqual(cc.linkStore.get('ent_1|deals'), { entityId: 'ent_1', connection: 'hubspot_main', provider: 'hubspot', externalType: 'deals', externalId: first.id, url: null });

  const second = await upsert(cc, { object: 'deals', properties: { dealname: 'Order ORD-1', amount: 150 } });
  assert.deepEqual(second, { id: first.id, object: 'deals', created: false, url: null });
  assert.equal(paths()[1], `PATCH /crm/v3/objects/deals/${first.id}`);
  assert.deepEqual(hs.requests[1]!.body, { properties: { dealname: 'Order ORD-1', amount: '150', statusflow_id: 'ent_1' } });
  assert.equal(deals().length, 1);
  assert.equal(deals()[0]!.properties.amount, '150');
  assert.equal(cc.acquired, hs.requests.length, 'one rate-limit slot per request');
});

test('a crash before the link was kept: the repeated upsert updates the same deal (no duplicate)', async () => {
  const cc = hubspot();
  const first = await upsert(cc, { object: 'deals', properties: { dealname: 'A' } });
  cc.linkStore.clear(); // the link put never happened
  const again = await upsert(cc, { object: 'deals', properties: { dealname: 'B' } });
  assert.equal(again.id, first.id);
  assert.equal(again.created, false);
  assert.equal(deals().length, 1);
  assert.equal(deals()[0]!.properties.dealname, 'B');
  assert.equal(cc.linkStore.get('ent_1|deals')?.externalId, first.id);
});

test('HubSpot’s answer lost on the wire: retryable NETWORK_ERROR, and the retry finds the same record', async () => {
  const cc = hubspot();
  hs.faults.dropResponses = 1;
  const f = await failureOf(upsert(cc, { object: 'deals', properties: { dealname: 'A' } }));
  assert.deepEqual([f.code, f.retryable], ['NETWORK_ERROR', true]);
  assert.equal(deals().length, 1, 'HubSpot did create it');
  assert.equal(cc.linkStore.size, 0);
  const retry = await upsert(cc, { object: 'deals', properties: { dealname: 'A' } });
  assert.equal(retry.id, deals()[0]!.id);
  assert.equal(deals().length, 1);
});

test('contacts are matched on email; a repeat without the link updates the same contact', async () => {
  const cc = hubspot();
  const first = await upsert(cc, { object: 'contacts', properties: { email: 'ada@example.com', firstname: 'Ada' } });
  assert.equal(first.created, true);
  assert.deepEqual(hs.requests[0]!.body, { inputs: [{ idProperty: 'email', id: 'ada@example.com', properties: { email: 'ada@example.com', firstname: 'Ada' } }] });
  cc.linkStore.clear();
  const again = await upsert(cc, { object: 'contacts', properties: { email: 'ada@example.com', firstname: 'Ada L.' } });
  assert.deepEqual([again.id, again.created], [first.id, false]);
  assert.equal(contacts().length, 1);
});

test('contacts without an email: non-retryable INVALID_INPUT, nothing sent', async () => {
  const cc = hubspot();
  for (const properties of [{ firstname: 'Ada' }, { email: '', firstname: 'Ada' }, { email: null }]) {
    const f = await failureOf(upsert(cc, { object: 'contacts', properties }));
    assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false]);
    assert.match(f.message, /contacts need an email/);
  }
  assert.equal(hs.requests.length, 0);
});

test('deals without a unique property configured: non-retryable, pointing to the docs; nothing sent', async () => {
  const cc = hubspot({ uniqueProperties: {} });
  const f = await failureOf(upsert(cc, { object: 'deals', properties: { dealname: 'A' } }));
  assert.deepEqual([f.code, f.retryable], ['HUBSPOT_UNIQUE_PROPERTY_MISSING', false]);
  assert.match(f.message, /docs\/connectors\/hubspot\.md/);
  assert.match(f.message, /"hubspot_main"/);
  assert.equal(hs.requests.length, 0);
});

test('idProperty on the task wins; a value given in properties is used instead of the entity id', async () => {
  const cc = hubspot();
  const a = await upsert(cc, { object: 'companies', idProperty: 'vat_number', properties: { name: 'ACME', vat_number: 'DE123' } }, 'ent_1');
  const b = await upsert(cc, { object: 'companies', idProperty: 'vat_number', properties: { name: 'ACME GmbH', vat_number: 'DE123' } }, 'ent_2');
  assert.equal(b.id, a.id, 'two entities, one company');
  assert.equal(b.created, false);
  assert.deepEqual((hs.requests[1]!.body as { inputs: unknown[] }).inputs[0], { idProperty: 'vat_number', id: 'DE123', properties: { name: 'ACME GmbH', vat_number: 'DE123' } });
});

test('a linked record deleted in HubSpot: the PATCH 404 falls through to upsert, which creates it again and relinks', async () => {
  const cc = hubspot();
  const first = await upsert(cc, { object: 'deals', properties: { dealname: 'A' } });
  hs.state.objects.get('deals')!.get(first.id)!.archived = true;
  const again = await upsert(cc, { object: 'deals', properties: { dealname: 'A2' } });
  assert.notEqual(again.id, first.id);
  assert.equal(again.created, true);
  assert.deepEqual(paths().slice(1), [`PATCH /crm/v3/objects/deals/${first.id}`, 'POST /crm/v3/objects/deals/batch/upsert']);
  assert.equal(cc.linkStore.get('ent_1|deals')?.externalId, again.id);
});

test('with portalId the output and the link carry the record URL', async () => {
  const cc = hubspot({ portalId: 4242 });
  const out = await upsert(cc, { object: 'deals', properties: { dealname: 'A' } });
  assert.equal(out.url, `https://app.hubspot.com/contacts/4242/record/0-3/${out.id}`);
  assert.equal(cc.linkStore.get('ent_1|deals')?.url, out.url);
});

test('400 VALIDATION_ERROR: non-retryable, HubSpot’s message, its errors and the correlation id in details', async () => {
  const cc = hubspot();
  const f = await failureOf(upsert(cc, { object: 'deals', properties: { dealname: 'A', no_such_property: 'x' } }));
  assert.deepEqual([f.code, f.retryable], ['HUBSPOT_VALIDATION_ERROR', false]);
  assert.match(f.message, /^HubSpot refused POST \/crm\/v3\/objects\/deals\/batch\/upsert: Property values were not valid: .*no_such_property.* does not exist/);
  const d = f.details as { status: number; category: string; correlationId: string; errors: Array<{ code: string }> };
  assert.equal(d.status, 400);
  assert.equal(d.category, 'VALIDATION_ERROR');
  assert.match(d.correlationId, /^[0-9a-f-]{36}$/);
  assert.equal(d.errors[0]!.code, 'PROPERTY_DOESNT_EXIST');
  assert.equal(cc.linkStore.size, 0);
});

test('401 and 403 are non-retryable and name the connection', async () => {
  const bad = hubspot({}, 'pat-wrong');
  const f = await failureOf(upsert(bad, { object: 'deals', properties: { dealname: 'A' } }));
  assert.deepEqual([f.code, f.retryable], ['HUBSPOT_AUTHENTICATION', false]);
  assert.match(f.message, /connection "hubspot_main"/);
  assert.ok((f.details as { correlationId: unknown }).correlationId);

  const cc = hubspot();
  hs.faults.failNext(403, { status: 'error', message: 'This app hasn\'t been granted all required scopes to make this call.', correlationId: 'c-403', category: 'MISSING_SCOPES', errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: ['crm.objects.deals.write'] } }] });
  const g = await failureOf(upsert(cc, { object: 'deals', properties: { dealname: 'A' } }));
  assert.deepEqual([g.code, g.retryable], ['HUBSPOT_MISSING_SCOPES', false]);
  assert.match(g.message, /connection "hubspot_main"/);
  assert.match(g.message, /required scopes/);
  assert.equal((g.details as { correlationId: string }).correlationId, 'c-403');
  assert.deepEqual((g.details as { errors: Array<{ context: unknown }> }).errors[0]!.context, { requiredGranularScopes: ['crm.objects.deals.write'] });
});

test('429 TEN_SECONDLY_ROLLING: retryable with retryAfterMs, and the shared limiter is told to back off', async () => {
  const cc = hubspot();
  hs.faults.rateLimitStorm = 1;
  const f = await failureOf(upsert(cc, { object: 'deals', properties: { dealname: 'A' } }));
  assert.deepEqual([f.code, f.retryable, f.retryAfterMs], ['HUBSPOT_RATE_LIMIT', true, 10_000]);
  assert.equal((f.details as { policyName: string }).policyName, 'TEN_SECONDLY_ROLLING');
  assert.deepEqual(cc.backOffs, [10_000]);

  const cc2 = hubspot();
  hs.faults.failNext(429, { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: 'c-1', policyName: 'SECONDLY' }, { 'retry-after': '3' });
  const g = await failureOf(upsert(cc2, { object: 'deals', properties: { dealname: 'A' } }));
  assert.deepEqual([g.code, g.retryable, g.retryAfterMs], ['HUBSPOT_RATE_LIMIT', true, 3000]);
  assert.deepEqual(cc2.backOffs, [3000]);
});

test('429 DAILY: non-retryable HUBSPOT_DAILY_LIMIT, no back-off', async () => {
  const cc = hubspot();
  hs.faults.failNext(429, { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', correlationId: 'c-2', policyName: 'DAILY' });
  const f = await failureOf(upsert(cc, { object: 'deals', properties: { dealname: 'A' } }));
  assert.deepEqual([f.code, f.retryable], ['HUBSPOT_DAILY_LIMIT', false]);
  assert.equal(f.retryAfterMs, undefined);
  assert.deepEqual(cc.backOffs, []);
});

test('X-HubSpot-RateLimit-Remaining: 0 makes the limiter back off for the window, the call still succeeds', async () => {
  hs.setRateLimit({ requests: 1, perMs: 5000 });
  const cc = hubspot();
  const out = await upsert(cc, { object: 'deals', properties: { dealname: 'A' } });
  assert.equal(out.created, true);
  assert.deepEqual(cc.backOffs, [5000]);
});

test('5xx is retryable HUBSPOT_SERVER_ERROR; a 207 with errors is mapped by category', async () => {
  const cc = hubspot();
  hs.faults.failNext(502);
  const f = await failureOf(upsert(cc, { object: 'deals', properties: { dealname: 'A' } }));
  assert.deepEqual([f.code, f.retryable], ['HUBSPOT_SERVER_ERROR', true]);
  assert.ok('correlationId' in (f.details as object));

  hs.faults.failNext(207, { status: 'COMPLETE', results: [], numErrors: 1, errors: [{ status: 'error', category: 'VALIDATION_ERROR', message: 'Property values were not valid', context: {} }] });
  const g = await failureOf(upsert(cc, { object: 'deals', properties: { dealname: 'A' } }));
  assert.deepEqual([g.code, g.retryable], ['HUBSPOT_VALIDATION_ERROR', false]);
  assert.match(g.message, /Property values were not valid/);
});

test('property values become strings as HubSpot wants them', () => {
  assert.deepEqual(hubspotProperties({ s: 'x', n: 12.5, big: 1e21, t: true, f: false, nothing: null, gone: undefined, multi: ['a', 'b', 3] }), {
    s: 'x',
    n: '12.5',
    big: '1e+21',
    t: 'true',
    f: 'false',
    nothing: '',
    multi: 'a;b;3',
  });
});

test('properties that are not an object, or hold objects, are non-retryable INVALID_INPUT', async () => {
  const cc = hubspot();
  for (const properties of [undefined, null, 'text', [1, 2], { address: { city: 'Paris' } }, { tags: [['nested']] }]) {
    const f = await failureOf(upsert(cc, { object: 'deals', properties }));
    assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false], JSON.stringify(properties));
  }
  assert.equal(hs.requests.length, 0);
});

test('the input schema: object is one of three, properties an expression or an object, nothing else', () => {
  assert.equal(HubSpotUpsertInputSchema.safeParse({ object: 'deals', properties: "{ 'dealname': order_number }" }).success, true);
  assert.equal(HubSpotUpsertInputSchema.safeParse({ object: 'deals', properties: { dealname: 'order_number' }, idProperty: 'statusflow_id' }).success, true);
  assert.equal(HubSpotUpsertInputSchema.safeParse({ object: 'tickets', properties: '{}' }).success, false);
  assert.equal(HubSpotUpsertInputSchema.safeParse({ object: 'deals' }).success, false);
  assert.equal(HubSpotUpsertInputSchema.safeParse({ object: 'deals', properties: '{}', idProperty: 'Bad Name' }).success, false);
  assert.deepEqual(hubspotUpsert.expressionFields, ['properties']);
  assert.deepEqual(hubspotUpsert.connection, { required: true, providers: ['hubspot'] });
});

test('without a connection, or with another provider’s, the step fails without retry', async () => {
  const f = await failureOf(hubspotUpsert.run({ object: 'deals', properties: {} }, taskContext(undefined)));
  assert.deepEqual([f.code, f.retryable], ['CONNECTION_REQUIRED', false]);
  const other = connectionContext({ key: 'box', provider: 'dropbox' });
  const g = await failureOf(hubspotUpsert.run({ object: 'deals', properties: {} }, taskContext(other)));
  assert.deepEqual([g.code, g.retryable], ['CONNECTION_INVALID', false]);
});

test('a token HubSpot echoes back in an error never reaches the failure', async () => {
  const cc = hubspot();
  hs.faults.failNext(400, { status: 'error', message: `bad header Bearer ${hs.token}`, correlationId: 'c-9', category: 'VALIDATION_ERROR' });
  const f = await failureOf(upsert(cc, { object: 'deals', properties: { dealname: 'A' } }));
  assert.equal(f.code, 'HUBSPOT_VALIDATION_ERROR');
  assert.ok(!JSON.stringify(f).includes(hs.token));
});
