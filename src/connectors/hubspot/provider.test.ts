import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeHubSpot, type FakeHubSpot } from '../../../test/fakes/hubspot.js';
import { connectionContext, failureOf } from '../../../test/support/connection-context.js';
import { hubspotProvider } from './provider.js';
import { hubspotConfig, hubspotRequest } from './client.js';
import { hubspotFailure } from './errors.js';

let hs: FakeHubSpot;
before(async () => {
  hs = await startFakeHubSpot();
});
after(() => hs.close());

const signal = new AbortController().signal;
const connection = (accessToken: string, config: Record<string, unknown> = { baseUrl: `${hs.url}/` }) =>
  connectionContext({ key: 'hubspot_main', provider: 'hubspot', config, secrets: { accessToken } });

test('test reads one contact with the token; a bad token fails naming the connection', async () => {
  hs.requests.length = 0;
  await hubspotProvider.test(connection(hs.token), signal);
  assert.deepEqual(hs.requests.map((r) => [r.method, r.path, r.query]), [['GET', '/crm/v3/objects/contacts', { limit: '1' }]]);
  const f = await failureOf(hubspotProvider.test(connection('pat-nope'), signal));
  assert.deepEqual([f.code, f.retryable], ['HUBSPOT_AUTHENTICATION', false]);
  assert.match(f.message, /"hubspot_main"/);
});

test('every request waits for a rate-limit slot first; an aborted wait sends nothing', async () => {
  hs.requests.length = 0;
  const cc = connection(hs.token);
  const c = new AbortController();
  c.abort(new Error('shutting down'));
  await assert.rejects(hubspotRequest(cc, { method: 'GET', path: '/crm/v3/objects/contacts?limit=1' }, c.signal));
  assert.equal(hs.requests.length, 0);
});

test('a server that is not there: retryable NETWORK_ERROR', async () => {
  const f = await failureOf(hubspotProvider.test(connection('x', { baseUrl: 'http://127.0.0.1:1' }), signal));
  assert.deepEqual([f.code, f.retryable], ['NETWORK_ERROR', true]);
});

test('config: defaults, strictness, unique properties and portal id', () => {
  const view = (config: Record<string, unknown>) => ({ key: 'k', provider: 'hubspot' as const, name: 'n', config, secrets: {} });
  assert.deepEqual(hubspotConfig(view({})), { baseUrl: 'https://api.hubapi.com', rateLimit: { requests: 100, perMs: 10_000 }, uniqueProperties: {} });
  assert.deepEqual(hubspotConfig(view({ baseUrl: 'http://x/api/', portalId: 123, uniqueProperties: { deals: 'statusflow_id' } })), {
    baseUrl: 'http://x/api',
    rateLimit: { requests: 100, perMs: 10_000 },
    uniqueProperties: { deals: 'statusflow_id' },
    portalId: '123',
  });
  const s = hubspotProvider.configSchema;
  assert.equal(s.safeParse({ rateLimit: { requests: 190, perMs: 10_000 }, uniqueProperties: { companies: 'statusflow_id' }, portalId: '987' }).success, true);
  for (const bad of [{ baseUrl: 'ftp://x' }, { other: 1 }, { uniqueProperties: { deals: 'Has Spaces' } }, { uniqueProperties: { tickets: 'x' } }, { rateLimit: { requests: 0, perMs: 1000 } }, { portalId: 'abc' }]) {
    assert.equal(s.safeParse(bad).success, false, JSON.stringify(bad));
  }
  const f = (() => {
    try {
      hubspotConfig(view({ baseUrl: 'nope' }));
    } catch (err) {
      return (err as { failure: { code: string; retryable: boolean } }).failure;
    }
  })();
  assert.deepEqual([f?.code, f?.retryable], ['CONNECTION_INVALID', false]);
});

test('secrets: exactly {accessToken}', () => {
  const s = hubspotProvider.secretsSchema;
  assert.equal(s.safeParse({ accessToken: 'pat-na1-x' }).success, true);
  assert.equal(s.safeParse({}).success, false);
  assert.equal(s.safeParse({ accessToken: '' }).success, false);
  assert.equal(s.safeParse({ accessToken: 'x', refreshToken: 'y' }).success, false);
});

test('error mapping by status: codes, retryability, correlation id always present', () => {
  const body = (category: string, message: string) => ({ status: 'error', message, correlationId: 'cid-1', category });
  const cases: Array<[number, unknown, string, boolean]> = [
    [400, body('VALIDATION_ERROR', 'bad'), 'HUBSPOT_VALIDATION_ERROR', false],
    [401, body('EXPIRED_AUTHENTICATION', 'expired'), 'HUBSPOT_AUTHENTICATION', false],
    [403, body('MISSING_SCOPES', 'scopes'), 'HUBSPOT_MISSING_SCOPES', false],
    [404, body('OBJECT_NOT_FOUND', 'gone'), 'HUBSPOT_OBJECT_NOT_FOUND', false],
    [409, body('CONFLICT', 'Contact already exists. Existing ID: 123'), 'HUBSPOT_CONFLICT', false],
    [429, { ...body('RATE_LIMITS', 'slow'), policyName: 'TEN_SECONDLY_ROLLING' }, 'HUBSPOT_RATE_LIMIT', true],
    [429, { ...body('RATE_LIMITS', 'daily'), policyName: 'DAILY' }, 'HUBSPOT_DAILY_LIMIT', false],
    [500, 'internal error', 'HUBSPOT_SERVER_ERROR', true],
    [503, '', 'HUBSPOT_SERVER_ERROR', true],
    [405, body('VALIDATION_ERROR', 'no'), 'HUBSPOT_REQUEST_FAILED', false],
    [408, '', 'HUBSPOT_REQUEST_FAILED', true],
  ];
  for (const [status, b, code, retryable] of cases) {
    const f = hubspotFailure({ status, headers: {}, body: b }, 'GET /x', 'hs').failure;
    assert.deepEqual([f.code, f.retryable], [code, retryable], `${status} ${JSON.stringify(b)}`);
    assert.ok('correlationId' in (f.details as object), `${status}: correlationId in details`);
  }
  const conflict = hubspotFailure({ status: 409, headers: {}, body: body('CONFLICT', 'Contact already exists. Existing ID: 123') }, 'POST /crm/v3/objects/contacts', 'hs').failure;
  assert.equal(conflict.message, 'HubSpot refused POST /crm/v3/objects/contacts as a conflict: Contact already exists. Existing ID: 123');
  assert.deepEqual(conflict.details, { status: 409, correlationId: 'cid-1', category: 'CONFLICT' });
  const retryAfter = hubspotFailure({ status: 429, headers: { 'retry-after': '2' }, body: {} }, 'GET /x', 'hs').failure;
  assert.equal(retryAfter.retryAfterMs, 2000);
  const interval = hubspotFailure({ status: 429, headers: { 'x-hubspot-ratelimit-interval-milliseconds': '1000' }, body: { policyName: 'SECONDLY' } }, 'GET /x', 'hs').failure;
  assert.equal(interval.retryAfterMs, 1000);
});
