/**
 * hubspot.upsert's grouped path against the HubSpot sandbox: 100 records per batch call, each record its own
 * result, link or failure; the same guarantees as a lone step (no duplicate after a lost answer).
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { TaskFailure } from '../../domain/failure.js';
import { startFakeHubSpot, type FakeHubSpot } from '../../../test/fakes/hubspot.js';
import { connectionContext, failureOf, taskContext, type TestConnectionContext } from '../../../test/support/connection-context.js';
import type { BatchOutcome, TaskContext } from '../types.js';
import { hubspotUpsert, type HubSpotUpsertInput, type HubSpotUpsertOutput } from './upsert.js';

let hs: FakeHubSpot;
let cc: TestConnectionContext;

before(async () => {
  hs = await startFakeHubSpot({ uniqueProperties: { deals: ['statusflow_id'] } });
});
after(() => hs.close());
beforeEach(() => {
  hs.faults.reset();
  hs.clearRefusals();
  hs.batchValidation = 'per-input';
  for (const t of hs.state.objects.values()) t.clear();
  hs.requests.length = 0;
  cc = connectionContext({ key: 'hubspot_main', provider: 'hubspot', config: { baseUrl: hs.url, uniqueProperties: { deals: 'statusflow_id' } }, secrets: { accessToken: hs.token } });
});

/** The step context of entity `id`: its own view of the shared links (as the engine gives each run). */
function stepOf(id: string): TaskContext {
  const mine: TestConnectionContext = {
    ...cc,
    runEntityId: id,
    links: { get: (type, entity = id) => cc.links.get(type, entity), put: (l) => cc.links.put({ ...l, entityId: l.entityId ?? id }) },
  };
  return taskContext(mine, { id });
}

const deal = (n: number): HubSpotUpsertInput => ({ object: 'deals', properties: { dealname: `Order ${n}`, amount: String(n) } });
const batching = hubspotUpsert.batch!;

/** Plans every step and runs them as one grouped call (they must share a key), as the executor's batcher does. */
async function grouped(inputs: HubSpotUpsertInput[], ids = inputs.map((_, i) => `ent_${i}`)): Promise<BatchOutcome[]> {
  const steps = inputs.map((input, i) => ({ input, ctx: stepOf(ids[i]!) }));
  const plans = await Promise.all(steps.map((s) => batching.plan(s.input, s.ctx)));
  assert.equal(new Set(plans.map((p) => p!.key)).size, 1, 'one group');
  return batching.runMany(plans.map((p, i) => ({ item: p!.item, ctx: steps[i]!.ctx })), new AbortController().signal);
}

const deals = () => [...hs.state.objects.get('deals')!.values()].filter((d) => !d.archived);
const calls = () => hs.requests.map((r) => `${r.method} ${r.path} ${(r.body as { inputs?: unknown[] }).inputs?.length ?? ''}`.trim());
const code = (o: BatchOutcome) => (o.ok ? 'ok' : (o.error as TaskFailure).failure.code);

test('100 unlinked deals: one batch upsert by the unique property, each step its own record and link', async () => {
  const out = await grouped(Array.from({ length: 100 }, (_, n) => deal(n)));
  assert.deepEqual(calls(), ['POST /crm/v3/objects/deals/batch/upsert 100']);
  assert.equal(cc.acquired, 1, 'one rate-limit slot for the grouped call');
  assert.equal(deals().length, 100);
  out.forEach((o, n) => {
    assert.ok(o.ok);
    const output = o.output as HubSpotUpsertOutput;
    const record = hs.state.objects.get('deals')!.get(output.id)!;
    assert.equal(record.properties.statusflow_id, `ent_${n}`);
    assert.equal(record.properties.dealname, `Order ${n}`);
    assert.deepEqual(output, { id: record.id, object: 'deals', created: true, url: null });
    assert.equal(cc.linkStore.get(`ent_${n}|deals`)?.externalId, record.id);
  });

  // Linked now: the next round is one batch update by id, nothing created.
  const again = await grouped(Array.from({ length: 100 }, (_, n) => ({ ...deal(n), properties: { dealname: `Order ${n}!` } })));
  assert.equal(calls()[1], 'POST /crm/v3/objects/deals/batch/update 100');
  assert.equal(deals().length, 100);
  assert.ok(again.every((o) => o.ok && (o.output as HubSpotUpsertOutput).created === false));
  assert.equal(deals().filter((d) => d.properties.dealname!.endsWith('!')).length, 100);
});

for (const mode of ['per-input', 'whole-call'] as const) {
  test(`one record HubSpot refuses among 100 (${mode === 'per-input' ? '207' : '400 for the whole call'}): only its step fails, with the code a lone step gets`, async () => {
    hs.batchValidation = mode;
    hs.refuse('deals', 'amount', '42');
    const out = await grouped(Array.from({ length: 100 }, (_, n) => deal(n)));
    assert.deepEqual(out.map(code).filter((c) => c !== 'ok'), ['HUBSPOT_VALIDATION_ERROR']);
    assert.equal(code(out[42]!), 'HUBSPOT_VALIDATION_ERROR');
    assert.equal((out[42] as { error: TaskFailure }).error.failure.retryable, false);
    assert.equal(deals().length, 99);
    assert.equal(cc.linkStore.size, 99);
    assert.equal(cc.linkStore.get('ent_42|deals'), undefined);
    const lone = await failureOf(hubspotUpsert.run(deal(42), stepOf('ent_42')));
    assert.equal(lone.code, (out[42] as { error: TaskFailure }).error.failure.code);
    // 207: one call (the one error left is the one record's). 400: halves down to the record (about 2·log2(100) calls).
    const n = hs.requests.length - 1;
    if (mode === 'per-input') assert.equal(n, 1, calls().join('\n'));
    else assert.ok(n > 2 && n <= 16, `${n} calls`);
  });
}

test('a lost answer (HubSpot wrote, the answer never came): every member gets a retryable failure; the replay duplicates nothing', async () => {
  hs.faults.dropResponses = 1;
  const out = await grouped(Array.from({ length: 50 }, (_, n) => deal(n)));
  assert.ok(out.every((o) => code(o) === 'NETWORK_ERROR' && (o as { error: TaskFailure }).error.failure.retryable));
  assert.equal(deals().length, 50, 'HubSpot did write them');
  assert.equal(cc.linkStore.size, 0);
  const replay = await grouped(Array.from({ length: 50 }, (_, n) => deal(n)));
  assert.ok(replay.every((o) => o.ok && (o.output as HubSpotUpsertOutput).created === false));
  assert.equal(deals().length, 50);
  assert.equal(cc.linkStore.size, 50);
});

test('429 and 5xx of the grouped call: every member gets the retryable failure (the engine retries each run)', async () => {
  hs.faults.rateLimitStorm = 1;
  const limited = await grouped([deal(1), deal(2)]);
  assert.deepEqual(limited.map(code), ['HUBSPOT_RATE_LIMIT', 'HUBSPOT_RATE_LIMIT']);
  hs.faults.failNext(503);
  const down = await grouped([deal(1), deal(2)]);
  assert.deepEqual(down.map(code), ['HUBSPOT_SERVER_ERROR', 'HUBSPOT_SERVER_ERROR']);
  assert.equal(deals().length, 0);
});

test('linked records deleted in HubSpot meanwhile are upserted again by the unique property, as a lone step does', async () => {
  await grouped([deal(1), deal(2), deal(3)]);
  const gone = cc.linkStore.get('ent_1|deals')!.externalId;
  hs.state.objects.get('deals')!.get(gone)!.archived = true;
  const out = await grouped([deal(1), deal(2), deal(3)]);
  assert.ok(out.every((o) => o.ok));
  assert.equal((out[1] as { output: HubSpotUpsertOutput }).output.created, true);
  assert.notEqual(cc.linkStore.get('ent_1|deals')!.externalId, gone);
  assert.equal(deals().length, 3);
});

test('plan: contacts group by email (lower case) as identity; steps without a unique value fail as alone', async () => {
  const a = await batching.plan({ object: 'contacts', properties: { email: 'Ada@Example.com' } }, stepOf('e1'));
  const b = await batching.plan({ object: 'contacts', properties: { email: 'ada@example.com' } }, stepOf('e2'));
  assert.equal(a!.key, b!.key);
  assert.equal(a!.identity, b!.identity, 'one contact: never in the same call');
  const f = await failureOf(batching.plan({ object: 'contacts', properties: { firstname: 'x' } }, stepOf('e3')));
  assert.equal(f.code, 'INVALID_INPUT');
  const noUnique = connectionContext({ key: 'h2', provider: 'hubspot', config: { baseUrl: hs.url }, secrets: { accessToken: hs.token } });
  const g = await failureOf(batching.plan(deal(1), taskContext(noUnique, { id: 'e4' })));
  assert.equal(g.code, 'HUBSPOT_UNIQUE_PROPERTY_MISSING');
});

test('linked and unlinked steps share a call: their links are read together, then one batch update and one batch upsert', async () => {
  await grouped([deal(0), deal(1)]);
  const out = await grouped([deal(0), deal(1), deal(2)]);
  assert.ok(out.every((o) => o.ok));
  assert.deepEqual(calls().slice(1), ['POST /crm/v3/objects/deals/batch/update 2', 'POST /crm/v3/objects/deals/batch/upsert 1']);
  assert.deepEqual(out.map((o) => (o as { output: HubSpotUpsertOutput }).output.created), [false, false, true]);
  assert.equal(deals().length, 3);
});

test('two entities linked to one record in one call: HubSpot never sees the id twice in a request', async () => {
  await grouped([deal(0)]);
  const record = cc.linkStore.get('ent_0|deals')!.externalId;
  await cc.links.put({ externalType: 'deals', externalId: record, entityId: 'ent_9' });
  const out = await grouped([deal(0), deal(9)], ['ent_0', 'ent_9']);
  assert.ok(out.every((o) => o.ok));
  assert.deepEqual(calls().slice(1), ['POST /crm/v3/objects/deals/batch/update 1', 'POST /crm/v3/objects/deals/batch/update 1']);
  assert.equal(deals().length, 1);
});
