/** The HubSpot fake against CHEATSHEET.md, driven by a plain fetch client. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandboxHubSpot, type SandboxHubSpot, type SandboxHubSpotOptions } from './hubspot.js';
import { eventually } from '../../test/support/wait.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
type Json = Record<string, unknown> & { results?: Array<Record<string, unknown>> };

function client(fake: SandboxHubSpot) {
  return async (method: string, path: string, body?: unknown, token: string | null = fake.token) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await fetch(fake.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as Json };
  };
}

/** A fake with a hand-driven clock, closed after the suite. */
function fixture(options: SandboxHubSpotOptions = {}) {
  const clock = { t: Date.UTC(2026, 0, 1) };
  const ctx = {} as { fake: SandboxHubSpot; call: ReturnType<typeof client>; clock: typeof clock };
  before(async () => {
    ctx.fake = await startSandboxHubSpot({ now: () => clock.t, ...options });
    ctx.call = client(ctx.fake);
    ctx.clock = clock;
  });
  after(() => ctx.fake.close());
  return ctx;
}

describe('hubspot fake: auth and errors', () => {
  const ctx = fixture();
  test('missing or wrong bearer token → 401 INVALID_AUTHENTICATION with correlationId', async () => {
    for (const token of [null, 'nope']) {
      const r = await ctx.call('GET', '/crm/v3/objects/contacts/1', undefined, token);
      assert.equal(r.status, 401);
      assert.equal(r.body.status, 'error');
      assert.equal(r.body.category, 'INVALID_AUTHENTICATION');
      assert.match(String(r.body.correlationId), UUID);
      assert.equal(typeof r.body.message, 'string');
      assert.equal(r.headers.get('x-hubspot-ratelimit-max'), null);
    }
  });
  test('unknown object type → 400, unknown route → 404, both JSON error bodies', async () => {
    const a = await ctx.call('POST', '/crm/v3/objects/widgets', { properties: {} });
    assert.equal(a.status, 400);
    assert.equal(a.body.category, 'VALIDATION_ERROR');
    const b = await ctx.call('GET', '/crm/v9/nothing');
    assert.equal(b.status, 404);
    assert.equal(b.body.status, 'error');
  });
});

describe('hubspot fake: single objects', () => {
  const ctx = fixture();
  test('create → 201 with string properties, id and timestamps; numbers and booleans coerced', async () => {
    const r = await ctx.call('POST', '/crm/v3/objects/contacts', { properties: { email: 'Ann@Example.com', firstname: 'Ann', phone: 12345, company: true } });
    assert.equal(r.status, 201);
    assert.match(String(r.body.id), /^\d+$/);
    const p = r.body.properties as Record<string, string>;
    assert.equal(p.email, 'ann@example.com');
    assert.equal(p.phone, '12345');
    assert.equal(p.company, 'true');
    assert.equal(p.hs_object_id, r.body.id);
    assert.equal(r.body.archived, false);
    assert.ok(!Number.isNaN(Date.parse(String(r.body.createdAt))));
    assert.equal(ctx.fake.state.objects.get('contacts')!.get(String(r.body.id))!.properties.firstname, 'Ann');
    assert.ok(r.headers.get('x-hubspot-ratelimit-remaining'));
  });
  test('plain create of a duplicate email → 409 CONFLICT naming the existing id', async () => {
    const first = await ctx.call('POST', '/crm/v3/objects/contacts', { properties: { email: 'dup@example.com' } });
    const r = await ctx.call('POST', '/crm/v3/objects/contacts', { properties: { email: 'DUP@example.com' } });
    assert.equal(r.status, 409);
    assert.equal(r.body.category, 'CONFLICT');
    assert.equal(r.body.message, `Contact already exists. Existing ID: ${String(first.body.id)}`);
    assert.match(String(r.body.correlationId), UUID);
  });
  test('unknown property, read-only property, object value, bad email → 400 VALIDATION_ERROR with errors[]', async () => {
    for (const properties of [{ nope: 'x' }, { hs_object_id: '1' }, { firstname: { a: 1 } }, { email: 'not-an-email' }]) {
      const r = await ctx.call('POST', '/crm/v3/objects/contacts', { properties });
      assert.equal(r.status, 400, JSON.stringify(properties));
      assert.equal(r.body.category, 'VALIDATION_ERROR');
      assert.match(String(r.body.message), /^Property values were not valid/);
      assert.ok(Array.isArray(r.body.errors) && r.body.errors.length === 1);
    }
    const r = await ctx.call('POST', '/crm/v3/objects/deals', { properties: { dealname: 'x', statusflow_id: '1' } });
    assert.equal(r.status, 400);
  });
  test('GET by id and by idProperty; default vs requested properties; 404 OBJECT_NOT_FOUND', async () => {
    const c = await ctx.call('POST', '/crm/v3/objects/0-1', { properties: { email: 'get@example.com', firstname: 'G', jobtitle: 'CTO' } });
    const id = String(c.body.id);
    const byId = await ctx.call('GET', `/crm/v3/objects/contacts/${id}`);
    assert.equal(byId.status, 200);
    assert.deepEqual(Object.keys(byId.body.properties as object).sort(), ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);
    assert.equal((byId.body.properties as Record<string, unknown>).lastname, null);
    const byEmail = await ctx.call('GET', '/crm/v3/objects/contacts/GET@example.com?idProperty=email&properties=jobtitle');
    assert.equal(byEmail.body.id, id);
    assert.equal((byEmail.body.properties as Record<string, string>).jobtitle, 'CTO');
    assert.equal((byEmail.body.properties as Record<string, string>).firstname, undefined);
    const missing = await ctx.call('GET', '/crm/v3/objects/contacts/999999');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.category, 'OBJECT_NOT_FOUND');
    const notUnique = await ctx.call('GET', '/crm/v3/objects/contacts/x?idProperty=firstname');
    assert.equal(notUnique.status, 400);
  });
  test('PATCH updates, "" clears, unique clash → 409; DELETE archives (204), then 404 unless archived=true', async () => {
    const c = await ctx.call('POST', '/crm/v3/objects/contacts', { properties: { email: 'p@example.com', firstname: 'P' } });
    const id = String(c.body.id);
    ctx.clock.t += 1000;
    const u = await ctx.call('PATCH', `/crm/v3/objects/contacts/${id}`, { properties: { firstname: '', lastname: 'Q' } });
    assert.equal(u.status, 200);
    assert.equal((u.body.properties as Record<string, string>).firstname, undefined);
    assert.equal((u.body.properties as Record<string, string>).lastname, 'Q');
    assert.notEqual(u.body.updatedAt, c.body.updatedAt);
    const clash = await ctx.call('PATCH', `/crm/v3/objects/contacts/${id}`, { properties: { email: 'dup@example.com' } });
    assert.equal(clash.status, 409);
    assert.equal((await ctx.call('PATCH', '/crm/v3/objects/contacts/424242', { properties: {} })).status, 404);
    const d = await ctx.call('DELETE', `/crm/v3/objects/contacts/${id}`);
    assert.equal(d.status, 204);
    assert.equal((await ctx.call('GET', `/crm/v3/objects/contacts/${id}`)).status, 404);
    const archived = await ctx.call('GET', `/crm/v3/objects/contacts/${id}?archived=true`);
    assert.equal(archived.body.archived, true);
    const again = await ctx.call('POST', '/crm/v3/objects/contacts', { properties: { email: 'p@example.com' } });
    assert.equal(again.status, 201, 'an archived contact frees its email');
  });
  test('inline associations on create', async () => {
    const company = await ctx.call('POST', '/crm/v3/objects/companies', { properties: { name: 'Acme' } });
    const deal = await ctx.call('POST', '/crm/v3/objects/deals', {
      properties: { dealname: 'Big' },
      associations: [{ to: { id: company.body.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 341 }] }],
    });
    assert.equal(deal.status, 201);
    assert.ok(ctx.fake.state.associations.some((a) => a.fromType === 'deals' && a.fromId === deal.body.id && a.toId === company.body.id && a.typeId === 341));
    const wrong = await ctx.call('POST', '/crm/v3/objects/deals', { properties: {}, associations: [{ to: { id: company.body.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 }] }] });
    assert.equal(wrong.status, 400);
  });
});

describe('hubspot fake: batches', () => {
  const ctx = fixture({ uniqueProperties: { deals: ['statusflow_id'] } });
  test('upsert by email: creates (new: true), then updates (new: false); identical re-run changes nothing', async () => {
    const body = { inputs: [{ idProperty: 'email', id: 'u1@example.com', properties: { firstname: 'U' } }, { idProperty: 'email', id: 'u2@example.com', properties: {} }] };
    const first = await ctx.call('POST', '/crm/v3/objects/contacts/batch/upsert', body);
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'COMPLETE');
    assert.deepEqual(first.body.results!.map((r) => r.new), [true, true]);
    assert.equal((first.body.results![0]!.properties as Record<string, string>).email, 'u1@example.com');
    ctx.clock.t += 5000;
    const second = await ctx.call('POST', '/crm/v3/objects/contacts/batch/upsert', body);
    assert.deepEqual(second.body.results!.map((r) => r.new), [false, false]);
    assert.deepEqual(second.body.results!.map((r) => r.id), first.body.results!.map((r) => r.id));
    assert.equal(second.body.results![0]!.updatedAt, first.body.results![0]!.updatedAt);
    const changed = await ctx.call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ idProperty: 'email', id: 'U1@EXAMPLE.COM', properties: { firstname: 'V' } }] });
    assert.equal(changed.body.results![0]!.new, false);
    assert.notEqual(changed.body.results![0]!.updatedAt, first.body.results![0]!.updatedAt);
    assert.equal(ctx.fake.state.objects.get('contacts')!.size, 2);
  });
  test('upsert on a custom unique property (deals.statusflow_id), and on a non-unique one → 400', async () => {
    const r = await ctx.call('POST', '/crm/v3/objects/deals/batch/upsert', { inputs: [{ idProperty: 'statusflow_id', id: 'sf-1', properties: { dealname: 'D', amount: 10 } }] });
    assert.equal(r.status, 200);
    assert.equal(r.body.results![0]!.new, true);
    assert.equal((r.body.results![0]!.properties as Record<string, string>).statusflow_id, 'sf-1');
    assert.equal((r.body.results![0]!.properties as Record<string, string>).amount, '10');
    const bad = await ctx.call('POST', '/crm/v3/objects/companies/batch/upsert', { inputs: [{ idProperty: 'name', id: 'Acme', properties: {} }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.category, 'VALIDATION_ERROR');
    ctx.fake.defineUniqueProperty('companies', 'statusflow_id');
    const ok = await ctx.call('POST', '/crm/v3/objects/companies/batch/upsert', { inputs: [{ idProperty: 'statusflow_id', id: 'c-1', properties: { name: 'Acme' } }] });
    assert.equal(ok.status, 200);
  });
  test('partial failure → 207 with errors[] and numErrors; the good inputs are applied', async () => {
    const r = await ctx.call('POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [{ idProperty: 'email', id: 'ok@example.com', properties: { firstname: 'Ok' } }, { idProperty: 'email', id: 'bad@example.com', properties: { nope: '1' } }],
    });
    assert.equal(r.status, 207);
    assert.equal(r.body.numErrors, 1);
    assert.equal(r.body.results!.length, 1);
    const err = (r.body.errors as Array<Record<string, unknown>>)[0]!;
    assert.equal(err.status, 'error');
    assert.equal(err.category, 'VALIDATION_ERROR');
    const all = await ctx.call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ idProperty: 'email', id: 'bad@example.com', properties: { nope: '1' } }] });
    assert.equal(all.status, 400, 'every input failed → a plain error');
  });
  test('more than 100 inputs or duplicate ids → 400', async () => {
    const inputs = Array.from({ length: 101 }, (_, n) => ({ idProperty: 'email', id: `n${n}@example.com`, properties: {} }));
    assert.equal((await ctx.call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs })).status, 400);
    const dup = await ctx.call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ idProperty: 'email', id: 'a@example.com' }, { idProperty: 'email', id: 'A@example.com' }] });
    assert.equal(dup.status, 400);
    assert.equal((await ctx.call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: inputs.slice(0, 100) })).status, 200);
  });
  test('batch create (201), read (200 / 207 for missing ids), update, archive (204)', async () => {
    const created = await ctx.call('POST', '/crm/v3/objects/companies/batch/create', { inputs: [{ properties: { name: 'A' } }, { properties: { name: 'B' } }] });
    assert.equal(created.status, 201);
    const ids = created.body.results!.map((r) => String(r.id));
    const read = await ctx.call('POST', '/crm/v3/objects/companies/batch/read', { inputs: ids.map((id) => ({ id })), properties: ['name'] });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.results!.map((r) => (r.properties as Record<string, string>).name).sort(), ['A', 'B']);
    const partial = await ctx.call('POST', '/crm/v3/objects/companies/batch/read', { inputs: [{ id: ids[0] }, { id: '999999' }] });
    assert.equal(partial.status, 207);
    assert.equal((partial.body.errors as Array<Record<string, unknown>>)[0]!.category, 'OBJECT_NOT_FOUND');
    const updated = await ctx.call('POST', '/crm/v3/objects/companies/batch/update', { inputs: [{ id: ids[0], properties: { domain: 'a.com' } }] });
    assert.equal(updated.status, 200);
    assert.equal((updated.body.results![0]!.properties as Record<string, string>).domain, 'a.com');
    const archived = await ctx.call('POST', '/crm/v3/objects/companies/batch/archive', { inputs: ids.map((id) => ({ id })) });
    assert.equal(archived.status, 204);
    assert.equal(ctx.fake.state.objects.get('companies')!.get(ids[0]!)!.archived, true);
  });
});

describe('hubspot fake: search', () => {
  const ctx = fixture({ searchLagMs: 2000, searchRateLimit: null });
  test('EQ filters, ORed groups, properties, paging; writes show up only after searchLagMs', async () => {
    for (const n of [1, 2, 3]) await ctx.call('POST', '/crm/v3/objects/contacts', { properties: { email: `s${n}@example.com`, lastname: n === 3 ? 'Other' : 'Same' } });
    const q = { filterGroups: [{ filters: [{ propertyName: 'lastname', operator: 'EQ', value: 'same' }] }], properties: ['email'], limit: 1 };
    const early = await ctx.call('POST', '/crm/v3/objects/contacts/search', q);
    assert.equal(early.status, 200);
    assert.equal(early.body.total, 0, 'the index lags writes');
    ctx.clock.t += 2000;
    const page1 = await ctx.call('POST', '/crm/v3/objects/contacts/search', q);
    assert.equal(page1.body.total, 2);
    assert.equal(page1.body.results!.length, 1);
    assert.equal((page1.body.results![0]!.properties as Record<string, string>).email, 's1@example.com');
    const after = (page1.body.paging as { next: { after: string } }).next.after;
    const page2 = await ctx.call('POST', '/crm/v3/objects/contacts/search', { ...q, after });
    assert.equal((page2.body.results![0]!.properties as Record<string, string>).email, 's2@example.com');
    assert.equal(page2.body.paging, undefined);
    const or = await ctx.call('POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 's1@example.com' }] }, { filters: [{ propertyName: 'lastname', operator: 'EQ', value: 'Other' }] }],
    });
    assert.equal(or.body.total, 2);
    ctx.fake.searchLagMs = 0;
  });
  test('too many filters or limit > 200 → 400', async () => {
    const filters = Array.from({ length: 11 }, () => ({ propertyName: 'email', operator: 'HAS_PROPERTY' }));
    assert.equal((await ctx.call('POST', '/crm/v3/objects/contacts/search', { filterGroups: [{ filters }] })).status, 400);
    assert.equal((await ctx.call('POST', '/crm/v3/objects/contacts/search', { limit: 201 })).status, 400);
  });
});

describe('hubspot fake: associations v4', () => {
  const ctx = fixture();
  test('default PUT → 200 both directions; labelled PUT → 201; unknown id → 404; bad type id → 400; GET and DELETE', async () => {
    const contact = ctx.fake.insert('contacts', { email: 'a@example.com' });
    const deal = ctx.fake.insert('deals', { dealname: 'D' });
    const r = await ctx.call('PUT', `/crm/v4/objects/deals/${deal.id}/associations/default/contacts/${contact.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'COMPLETE');
    assert.deepEqual(r.body.results![0], { from: { id: deal.id }, to: { id: contact.id }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 } });
    assert.deepEqual(ctx.fake.state.associations, [{ fromType: 'deals', fromId: deal.id, toType: 'contacts', toId: contact.id, typeId: 3, category: 'HUBSPOT_DEFINED' }]);
    await ctx.call('PUT', `/crm/v4/objects/deals/${deal.id}/associations/default/contacts/${contact.id}`);
    assert.equal(ctx.fake.state.associations.length, 1, 'idempotent');
    const missing = await ctx.call('PUT', `/crm/v4/objects/deals/${deal.id}/associations/default/contacts/999999`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.category, 'OBJECT_NOT_FOUND');
    const company = ctx.fake.insert('companies', { name: 'C' });
    const labelled = await ctx.call('PUT', `/crm/v4/objects/0-3/${deal.id}/associations/companies/${company.id}`, [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 5 }]);
    assert.equal(labelled.status, 201);
    assert.equal(labelled.body.toObjectTypeId, '0-2');
    assert.deepEqual(labelled.body.labels, ['Primary']);
    const bad = await ctx.call('PUT', `/crm/v4/objects/deals/${deal.id}/associations/companies/${company.id}`, [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 }]);
    assert.equal(bad.status, 400);
    const fromContact = await ctx.call('GET', `/crm/v4/objects/contacts/${contact.id}/associations/deals`);
    assert.deepEqual(fromContact.body.results, [{ toObjectId: Number(deal.id), associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 4, label: null }] }]);
    assert.equal((await ctx.call('DELETE', `/crm/v4/objects/contacts/${contact.id}/associations/deals/${deal.id}`)).status, 204);
    assert.equal(ctx.fake.state.associations.filter((a) => a.toType === 'contacts').length, 0);
  });
});

describe('hubspot fake: rate limits', () => {
  const ctx = fixture({ rateLimit: { requests: 3, perMs: 1000, daily: 4 } });
  test('headers on every response; the 4th call in the window → 429 TEN_SECONDLY_ROLLING; the window rolls', async () => {
    const seen: string[] = [];
    for (let n = 0; n < 3; n++) {
      const r = await ctx.call('GET', '/crm/v3/objects/contacts/1');
      assert.equal(r.status, 404);
      assert.equal(r.headers.get('x-hubspot-ratelimit-max'), '3');
      assert.equal(r.headers.get('x-hubspot-ratelimit-interval-milliseconds'), '1000');
      assert.equal(r.headers.get('x-hubspot-ratelimit-daily'), '4');
      seen.push(r.headers.get('x-hubspot-ratelimit-remaining')!);
    }
    assert.deepEqual(seen, ['2', '1', '0']);
    const limited = await ctx.call('GET', '/crm/v3/objects/contacts/1');
    assert.equal(limited.status, 429);
    assert.deepEqual({ ...limited.body, correlationId: 'x' }, { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: 'x', policyName: 'TEN_SECONDLY_ROLLING' });
    assert.equal(limited.headers.get('retry-after'), null, 'no Retry-After unless asked for');
    assert.equal(ctx.fake.rateLimited, 1);
    const other = await startSandboxHubSpot({ tokens: ['second'], rateLimit: { requests: 1, perMs: 1000 } });
    try {
      const c2 = client(other);
      assert.equal((await c2('GET', '/crm/v3/objects/contacts/1')).status, 404);
      assert.equal((await c2('GET', '/crm/v3/objects/contacts/1', undefined, 'second')).status, 404, 'windows are per token');
    } finally {
      await other.close();
    }
    ctx.clock.t += 1001;
    assert.equal((await ctx.call('GET', '/crm/v3/objects/contacts/1')).status, 404);
    ctx.clock.t += 1001;
    const daily = await ctx.call('GET', '/crm/v3/objects/contacts/1');
    assert.equal(daily.status, 429);
    assert.equal(daily.body.policyName, 'DAILY');
    assert.equal(ctx.fake.rateLimited, 2);
  });
  test('setRateLimit resets the windows; retryAfterHeader; search has its own SECONDLY limit without headers', async () => {
    const fake = await startSandboxHubSpot({ rateLimit: { requests: 1, perMs: 10_000 }, retryAfterHeader: true, searchRateLimit: { requests: 1, perMs: 1000 } });
    try {
      const call = client(fake);
      await call('GET', '/crm/v3/objects/contacts/1');
      const r = await call('GET', '/crm/v3/objects/contacts/1');
      assert.equal(r.status, 429);
      assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
      fake.setRateLimit({ requests: 100, perMs: 10_000 });
      assert.equal((await call('GET', '/crm/v3/objects/contacts/1')).status, 404);
      const s1 = await call('POST', '/crm/v3/objects/contacts/search', {});
      assert.equal(s1.status, 200);
      assert.equal(s1.headers.get('x-hubspot-ratelimit-remaining'), null);
      const s2 = await call('POST', '/crm/v3/objects/contacts/search', {});
      assert.equal(s2.status, 429);
      assert.equal(s2.body.policyName, 'SECONDLY');
      assert.equal(fake.rateLimited, 2);
    } finally {
      await fake.close();
    }
  });
});

describe('hubspot fake: faults', () => {
  const ctx = fixture();
  test('rateLimitStorm → N injected 429s (not counted in rateLimited), then normal', async () => {
    ctx.fake.faults.rateLimitStorm = 2;
    const statuses = [];
    for (let n = 0; n < 3; n++) statuses.push((await ctx.call('GET', '/crm/v3/objects/contacts/1')).status);
    assert.deepEqual(statuses, [429, 429, 404]);
    assert.equal(ctx.fake.rateLimited, 0);
    assert.equal(ctx.fake.faults.injected.rateLimits, 2);
  });
  test('errorRate is deterministic for a seed; failNext sends the canned answer; reset', async () => {
    const run = async (fake: SandboxHubSpot) => {
      fake.faults.errorRate = 0.5;
      const call = client(fake);
      const out: number[] = [];
      for (let n = 0; n < 12; n++) out.push((await call('GET', '/crm/v3/objects/contacts/1')).status);
      return out;
    };
    const a = await run(ctx.fake);
    const other = await startSandboxHubSpot();
    try {
      assert.deepEqual(await run(other), a);
    } finally {
      await other.close();
    }
    assert.ok(a.includes(500) && a.includes(404));
    ctx.fake.faults.reset();
    ctx.fake.faults.failNext(503, { oops: true }, { 'x-test': '1' });
    ctx.fake.faults.failNext(500);
    const canned = await ctx.call('GET', '/crm/v3/objects/contacts/1');
    assert.equal(canned.status, 503);
    assert.deepEqual(canned.body, { oops: true });
    assert.equal(canned.headers.get('x-test'), '1');
    const dflt = await ctx.call('GET', '/crm/v3/objects/contacts/1');
    assert.equal(dflt.status, 500);
    assert.equal(dflt.body.status, 'error');
    assert.equal((await ctx.call('GET', '/crm/v3/objects/contacts/1')).status, 404);
  });
  test('dropConnections: no answer, no effect; dropResponses: no answer but the write happened', async () => {
    ctx.fake.faults.dropConnections = 1;
    await assert.rejects(ctx.call('POST', '/crm/v3/objects/contacts', { properties: { email: 'drop1@example.com' } }));
    assert.equal([...ctx.fake.state.objects.get('contacts')!.values()].some((o) => o.properties.email === 'drop1@example.com'), false);
    ctx.fake.faults.dropResponses = 1;
    await assert.rejects(ctx.call('POST', '/crm/v3/objects/contacts', { properties: { email: 'drop2@example.com' } }));
    assert.equal([...ctx.fake.state.objects.get('contacts')!.values()].some((o) => o.properties.email === 'drop2@example.com'), true);
    assert.deepEqual(ctx.fake.requests.slice(-2).map((r) => [r.fault, r.status]), [['drop', 0], ['dropResponse', 0]]);
  });
  test('latencyMs delays answers (real timers)', async () => {
    const fake = await startSandboxHubSpot();
    try {
      fake.faults.latencyMs = 60;
      const t0 = performance.now();
      await client(fake)('GET', '/crm/v3/objects/contacts/1');
      assert.ok(performance.now() - t0 >= 55);
      fake.faults.latencyMs = 10_000;
      const pending = client(fake)('GET', '/crm/v3/objects/contacts/1');
      await eventually(() => fake.faults.injected.latency === 2, 10_000, 'the second request to wait out its latency');
      await fake.close();
      await assert.rejects(pending, 'close() ends a request still waiting out its latency');
    } finally {
      await fake.close().catch(() => undefined);
    }
  });
  test('requests are recorded with method, path, status and parsed body', () => {
    const last = ctx.fake.requests.find((r) => r.method === 'POST');
    assert.ok(last);
    assert.equal(last.path, '/crm/v3/objects/contacts');
    assert.deepEqual(last.body, { properties: { email: 'drop1@example.com' } });
  });
});

describe('hubspot fake: OAuth refresh', () => {
  const ctx = fixture({ oauth: { clientId: 'cid', clientSecret: 'cs', refreshToken: 'rt' } });
  test('POST /oauth/v1/token issues a working token; expireAccessTokens → 401 EXPIRED_AUTHENTICATION', async () => {
    const form = (o: Record<string, string>) => fetch(`${ctx.fake.url}/oauth/v1/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o) });
    const bad = await form({ grant_type: 'refresh_token', client_id: 'cid', client_secret: 'cs', refresh_token: 'wrong' });
    assert.equal(bad.status, 400);
    const res = await form({ grant_type: 'refresh_token', client_id: 'cid', client_secret: 'cs', refresh_token: 'rt' });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200);
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.refresh_token, 'rt');
    const token = String(body.access_token);
    assert.equal((await ctx.call('GET', '/crm/v3/objects/contacts/1', undefined, token)).status, 404);
    ctx.fake.expireAccessTokens();
    const expired = await ctx.call('GET', '/crm/v3/objects/contacts/1', undefined, token);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.category, 'EXPIRED_AUTHENTICATION');
    assert.equal((await ctx.call('GET', '/crm/v3/objects/contacts/1')).status, 404, 'the private-app token never expires');
  });
});
