import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeHubSpot, type FakeHubSpot } from '../../../test/fakes/hubspot.js';
import { connectionContext, failureOf, taskContext, type TestConnectionContext } from '../../../test/support/connection-context.js';
import { hubspotAssociate, HubSpotAssociateInputSchema, type HubSpotAssociateInput, type HubSpotAssociateOutput } from './associate.js';
import { hubspotUpsert } from './upsert.js';

let hs: FakeHubSpot;
let cc: TestConnectionContext;

before(async () => {
  hs = await startFakeHubSpot({ uniqueProperties: { deals: ['statusflow_id'], companies: ['statusflow_id'] } });
});
after(() => hs.close());
beforeEach(() => {
  hs.faults.reset();
  for (const t of hs.state.objects.values()) t.clear();
  hs.state.associations.length = 0;
  hs.requests.length = 0;
  cc = connectionContext({ key: 'hubspot_main', provider: 'hubspot', config: { baseUrl: hs.url, uniqueProperties: { deals: 'statusflow_id', companies: 'statusflow_id' } }, secrets: { accessToken: hs.token } });
});

async function upsert(entityId: string, object: 'contacts' | 'companies' | 'deals', properties: Record<string, unknown>): Promise<string> {
  cc.runEntityId = entityId;
  return ((await hubspotUpsert.run({ object, properties }, taskContext(cc, { id: entityId }))) as { id: string }).id;
}

async function associate(input: HubSpotAssociateInput, entityId = 'order_1'): Promise<HubSpotAssociateOutput> {
  cc.runEntityId = entityId;
  return (await hubspotAssociate.run(input, taskContext(cc, { id: entityId }))) as HubSpotAssociateOutput;
}

test('associates the run entity’s deal with another entity’s company through their links (default type)', async () => {
  const deal = await upsert('order_1', 'deals', { dealname: 'Order 1' });
  const company = await upsert('customer_7', 'companies', { name: 'ACME' });
  hs.requests.length = 0;
  cc.acquired = 0;
  const out = await associate({ from: 'deals', to: 'companies', toEntity: 'customer_7' });
  assert.deepEqual(out, { from: { type: 'deals', id: deal }, to: { type: 'companies', id: company } });
  assert.deepEqual(hs.requests.map((r) => `${r.method} ${r.path}`), [`PUT /crm/v4/objects/deals/${deal}/associations/default/companies/${company}`]);
  assert.deepEqual(hs.state.associations.map((a) => [a.fromType, a.fromId, a.toType, a.toId, a.typeId]), [['deals', deal, 'companies', company, 341]]);
  assert.equal(cc.acquired, 1);

  // Repeating the step leaves one association.
  await associate({ from: 'deals', to: 'companies', toEntity: 'customer_7' });
  assert.equal(hs.state.associations.length, 1);
});

test('fromEntity names another source entity; numbers are accepted as ids', async () => {
  const company = await upsert('42', 'companies', { name: 'ACME' });
  const contact = await upsert('customer_7', 'contacts', { email: 'ada@example.com' });
  const out = await associate({ from: 'contacts', to: 'companies', fromEntity: 'customer_7', toEntity: 42 });
  assert.deepEqual(out, { from: { type: 'contacts', id: contact }, to: { type: 'companies', id: company } });
});

test('a missing link: non-retryable HUBSPOT_LINK_MISSING naming the entity without a record; nothing sent', async () => {
  await upsert('order_1', 'deals', { dealname: 'Order 1' });
  hs.requests.length = 0;
  const f = await failureOf(associate({ from: 'deals', to: 'contacts', toEntity: 'customer_9' }));
  assert.deepEqual([f.code, f.retryable], ['HUBSPOT_LINK_MISSING', false]);
  assert.match(f.message, /Entity customer_9 has no HubSpot contacts record through connection "hubspot_main"/);
  assert.deepEqual(f.details, { entityId: 'customer_9', externalType: 'contacts', connection: 'hubspot_main' });

  const g = await failureOf(associate({ from: 'companies', to: 'deals', toEntity: 'order_1' }));
  assert.deepEqual([g.code, g.retryable], ['HUBSPOT_LINK_MISSING', false]);
  assert.match(g.message, /Entity order_1 has no HubSpot companies record/);
  assert.equal(hs.requests.length, 0);
});

test('toEntity / fromEntity that do not evaluate to an id: INVALID_INPUT', async () => {
  for (const input of [{ toEntity: undefined }, { toEntity: '' }, { toEntity: { id: 1 } }, { toEntity: 'x', fromEntity: null }]) {
    const f = await failureOf(associate({ from: 'deals', to: 'contacts', ...input }));
    assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false], JSON.stringify(input));
  }
});

test('a linked record deleted in HubSpot: HUBSPOT_OBJECT_NOT_FOUND says to upsert again', async () => {
  const deal = await upsert('order_1', 'deals', { dealname: 'Order 1' });
  await upsert('customer_7', 'companies', { name: 'ACME' });
  hs.state.objects.get('deals')!.get(deal)!.archived = true;
  const f = await failureOf(associate({ from: 'deals', to: 'companies', toEntity: 'customer_7' }));
  assert.deepEqual([f.code, f.retryable], ['HUBSPOT_OBJECT_NOT_FOUND', false]);
  assert.match(f.message, /no longer exists in HubSpot; run hubspot.upsert again/);
  assert.ok((f.details as { correlationId: string }).correlationId);
});

test('the input schema', () => {
  assert.equal(HubSpotAssociateInputSchema.safeParse({ from: 'deals', to: 'contacts', toEntity: 'customer_id' }).success, true);
  assert.equal(HubSpotAssociateInputSchema.safeParse({ from: 'deals', to: 'contacts', toEntity: 'customer_id', fromEntity: 'entity.id' }).success, true);
  assert.equal(HubSpotAssociateInputSchema.safeParse({ from: 'deals', to: 'contacts' }).success, false);
  assert.equal(HubSpotAssociateInputSchema.safeParse({ from: 'deals', to: 'tickets', toEntity: 'x' }).success, false);
  assert.deepEqual(hubspotAssociate.expressionFields, ['toEntity', 'fromEntity']);
});

test('batchable: associations of steps ready together go out in one v4 batch call; a missing record fails only its step', async () => {
  const ids: string[] = [];
  for (let n = 0; n < 5; n++) ids.push(await upsert(`order_${n}`, 'deals', { dealname: `Order ${n}` }));
  const company = await upsert('customer_7', 'companies', { name: 'ACME' });
  hs.state.objects.get('deals')!.get(ids[3]!)!.archived = true;
  hs.requests.length = 0;
  cc.acquired = 0;
  const batching = hubspotAssociate.batch!;
  const steps = ids.map((_, n) => {
    const mine: TestConnectionContext = { ...cc, links: { get: (t, e = `order_${n}`) => cc.links.get(t, e), put: cc.links.put } };
    return taskContext(mine, { id: `order_${n}` });
  });
  const input: HubSpotAssociateInput = { from: 'deals', to: 'companies', toEntity: 'customer_7' };
  const plans = await Promise.all(steps.map((ctx) => batching.plan(input, ctx)));
  assert.equal(new Set(plans.map((p) => p!.key)).size, 1);
  const out = await batching.runMany(plans.map((p, n) => ({ item: p!.item, ctx: steps[n]! })), new AbortController().signal);
  assert.deepEqual(hs.requests.map((r) => `${r.method} ${r.path}`), ['POST /crm/v4/associations/deals/companies/batch/associate/default']);
  assert.equal(cc.acquired, 1);
  assert.deepEqual(out.map((o) => (o.ok ? 'ok' : (o.error as { failure: { code: string } }).failure.code)), ['ok', 'ok', 'ok', 'HUBSPOT_OBJECT_NOT_FOUND', 'ok']);
  assert.match((out[3] as { error: Error }).error.message, /run hubspot.upsert again/);
  assert.deepEqual(out[0], { ok: true, output: { from: { type: 'deals', id: ids[0] }, to: { type: 'companies', id: company } } });
  assert.equal(hs.state.associations.filter((a) => a.toId === company).length, 4);
});
