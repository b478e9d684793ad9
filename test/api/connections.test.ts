/**
 * /api/v1/connections and entity links, on each database: validation against the providers' schemas,
 * write-only secrets (kept when a PUT omits them), roles, org isolation, deletion refused while a process
 * uses the connection, the credentials check, the task-side context (links, memo, cache) — and secret
 * hygiene: the secret values appear in no response, no log line, no run step and no row but the
 * encrypted one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ORDER_TYPE } from '../support/order.js';
import { startTarget, type Target } from '../support/target.js';
import { clockPassed, eventually } from '../support/wait.js';
import { connectionContextFor, loadConnection } from '../../src/engine/connection-context.js';
import { TaskFailure } from '../../src/domain/failure.js';
import { getConnection as getStoredConnection } from '../../src/store/connections.js';

// Distinctive secret values: none of them may leak anywhere.
const HTTP_TOKEN = 'sk-live-HTTPSECRET-7f3a9c0d';
const HTTP_AUTH = `Bearer ${HTTP_TOKEN}`;
const HTTP_KEY = 'xkey-HTTPSECRET2-91b2e4';
const HUB_TOKEN = 'pat-na1-HUBSECRET-5d6e7f80';
const DBX_REFRESH = 'dbx-refresh-DBXSECRET-11aa22';
const DBX_APP_SECRET = 'dbx-appsecret-DBXSECRET2-22bb33';
const SECRETS = [HTTP_TOKEN, HTTP_KEY, HUB_TOKEN, DBX_REFRESH, DBX_APP_SECRET];

const seenBodies: string[] = [];
const logLines: string[] = [];

function leaks(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s));
}

for (const dialect of DIALECTS) {
  describe(`connections API on ${dialect}`, () => {
    let t: TestApp;
    let target: Target;
    const call = async (...args: Parameters<TestApp['call']>): Promise<LightMyRequestResponse> => {
      const res = await t.call(...args);
      seenBodies.push(res.body);
      return res;
    };
    let editorKey: string;
    let viewerKey: string;
    let operatorKey: string;
    let orderId: string;

    before(async () => {
      target = await startTarget();
      t = await startTestApp(dialect, {
        logStream: { write: (line) => void logLines.push(line) },
        worker: { log: (level, msg, extra) => void logLines.push(JSON.stringify({ level, msg, extra }, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v))) },
      });
      assert.equal((await call('PUT', '/api/v1/entity-types/order', ORDER_TYPE)).statusCode, 201);
      const keys: Record<string, string> = {};
      for (const role of ['editor', 'viewer', 'operator']) keys[role] = (await call('POST', '/api/v1/api-keys', { name: role, role })).json().key;
      [editorKey, viewerKey, operatorKey] = [keys.editor!, keys.viewer!, keys.operator!];
      const created = await call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-1', total: 10 } });
      assert.equal(created.statusCode, 201, created.body);
      orderId = created.json().id;
    });
    after(async () => {
      await t.close();
      await target.close();
    });

    test('PUT creates (201) with secrets shown as "set"; GET and list show the same; the row holds only the sealed secrets', async () => {
      const res = await call('PUT', '/api/v1/connections/hubspot_main', {
        provider: 'hubspot',
        name: 'HubSpot (main portal)',
        config: { baseUrl: target.url, rateLimit: { requests: 100, perMs: 10000 } },
        secrets: { accessToken: HUB_TOKEN },
      });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json();
      assert.deepEqual(
        { ...body, createdAt: undefined, updatedAt: undefined },
        { key: 'hubspot_main', provider: 'hubspot', name: 'HubSpot (main portal)', config: { baseUrl: target.url, rateLimit: { requests: 100, perMs: 10000 } }, secrets: { accessToken: 'set' }, createdAt: undefined, updatedAt: undefined },
      );
      assert.ok(body.createdAt && body.updatedAt);
      assert.deepEqual((await call('GET', '/api/v1/connections/hubspot_main')).json(), { ...body, rateLimit: { requests: 100, perMs: 10000, from: 'config' }, recent429s: [] });
      const list = (await call('GET', '/api/v1/connections')).json();
      assert.deepEqual(list.items.map((c: { key: string }) => c.key), ['hubspot_main']);
      assert.equal(list.nextCursor, null);
      const row = await getStoredConnection(t.services.database.db, t.defaultOrgId, 'hubspot_main');
      assert.match(row!.sealedSecrets, /^v1:[\w-]+:[\w-]+:[\w-]+$/);
      assert.ok(!row!.sealedSecrets.includes(HUB_TOKEN));
      const loaded = await loadConnection(t.services, t.defaultOrgId, 'hubspot_main');
      assert.deepEqual(loaded.view.secrets, { accessToken: HUB_TOKEN });
    });

    test('a PUT without secrets keeps them (200, config edited); a PUT with secrets replaces them all', async () => {
      const res = await call('PUT', '/api/v1/connections/hubspot_main', { provider: 'hubspot', config: { baseUrl: target.url, portalId: '42' } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().config, { baseUrl: target.url, portalId: '42' });
      assert.equal(res.json().name, 'HubSpot (main portal)', 'the name is kept when not given');
      assert.deepEqual(res.json().secrets, { accessToken: 'set' });
      assert.deepEqual((await loadConnection(t.services, t.defaultOrgId, 'hubspot_main')).view.secrets, { accessToken: HUB_TOKEN }, 'the edit is seen at once in this process');

      const other = await call('PUT', '/api/v1/connections/other_hub', { provider: 'hubspot', secrets: { accessToken: 'first-token-value' } });
      assert.equal(other.statusCode, 201);
      assert.equal(other.json().name, 'other_hub', 'the name defaults to the key');
      assert.deepEqual(other.json().config, {});
      await call('PUT', '/api/v1/connections/other_hub', { provider: 'hubspot', secrets: { accessToken: 'second-token-value' } });
      assert.deepEqual((await loadConnection(t.services, t.defaultOrgId, 'other_hub')).view.secrets, { accessToken: 'second-token-value' });
      assert.equal((await call('DELETE', '/api/v1/connections/other_hub')).statusCode, 204);
    });

    const refusals: Array<[string, unknown, string, string]> = [
      ['an unknown provider', { provider: 'ftp', secrets: {} }, 'provider', 'unknown_provider'],
      ['no provider', { secrets: {} }, 'provider', 'required'],
      ['a new connection without its secrets', { provider: 'hubspot' }, 'secrets.accessToken', 'required'],
      ['an unknown secret', { provider: 'hubspot', secrets: { accessToken: 'abc', token: 'x' } }, 'secrets.token', 'unknown'],
      ['an unknown config property', { provider: 'hubspot', config: { baseURL: 'https://x' }, secrets: { accessToken: 'abc' } }, 'config.baseURL', 'unknown'],
      ['an unknown body property', { provider: 'hubspot', secret: { accessToken: 'abc' } }, 'secret', 'unknown'],
      ['a config that is not an object', { provider: 'http', config: 'https://x', secrets: {} }, 'config', 'type'],
      ['http without baseUrl', { provider: 'http', config: {}, secrets: {} }, 'config.baseUrl', 'required'],
      ['http with a relative baseUrl', { provider: 'http', config: { baseUrl: '/api' } }, 'config.baseUrl', 'invalid_url'],
      ['http with credentials in baseUrl', { provider: 'http', config: { baseUrl: 'https://u:p@x.example' } }, 'config.baseUrl', 'invalid_url'],
      ['http with a bad rate limit', { provider: 'http', config: { baseUrl: 'https://x.example', rateLimit: { requests: 0, perMs: 1000 } } }, 'config.rateLimit.requests', 'too_small'],
      ['an http header value with a line break', { provider: 'http', config: { baseUrl: 'https://x.example' }, secrets: { headers: { 'x-api-key': `a\r\n${HTTP_KEY}` } } }, 'secrets.headers["x-api-key"]', 'invalid'],
      ['a bad http header name', { provider: 'http', config: { baseUrl: 'https://x.example' }, secrets: { headers: { 'bad header': HTTP_KEY } } }, 'secrets.headers', ''],
    ];
    for (const [name, body, path, code] of refusals) {
      test(`PUT refuses ${name} (400 CONNECTION_INVALID at ${path}) and stores nothing`, async () => {
        const res = await call('PUT', '/api/v1/connections/refused', body);
        assert.equal(res.statusCode, 400, res.body);
        const error = res.json().error;
        assert.equal(error.code, 'CONNECTION_INVALID');
        const fields = error.details.fields as Array<{ path: string; code: string }>;
        assert.ok(fields.some((f) => f.path.startsWith(path) && (code === '' || f.code === code)), JSON.stringify(fields));
        assert.equal((await call('GET', '/api/v1/connections/refused')).statusCode, 404);
      });
    }

    test('keys and roles: a bad key is 400, editors/operators/viewers cannot write, viewers read, editors test', async () => {
      const bad = await call('PUT', '/api/v1/connections/Bad-Key', { provider: 'http', config: { baseUrl: target.url } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'INVALID_KEY');
      assert.equal((await call('GET', '/api/v1/connections/Bad-Key')).json().error.code, 'CONNECTION_NOT_FOUND');
      for (const key of [editorKey, operatorKey, viewerKey]) {
        assert.equal((await call('PUT', '/api/v1/connections/by_role', { provider: 'http', config: { baseUrl: target.url } }, { key })).statusCode, 403);
        assert.equal((await call('DELETE', '/api/v1/connections/hubspot_main', undefined, { key })).statusCode, 403);
      }
      const read = await call('GET', '/api/v1/connections/hubspot_main', undefined, { key: viewerKey });
      assert.equal(read.statusCode, 200);
      assert.deepEqual(read.json().secrets, { accessToken: 'set' });
      assert.equal((await call('POST', '/api/v1/connections/hubspot_main/test', undefined, { key: viewerKey })).statusCode, 403);
      assert.equal((await call('POST', '/api/v1/connections/hubspot_main/test', undefined, { key: operatorKey })).statusCode, 403);
      assert.equal((await call('POST', '/api/v1/connections/hubspot_main/test', undefined, { key: editorKey })).statusCode, 200);
      assert.equal((await call('GET', '/api/v1/connections', undefined, { key: null })).statusCode, 401);
    });

    test('404s: GET, DELETE and test of a connection that does not exist', async () => {
      for (const [method, url] of [['GET', '/api/v1/connections/nowhere'], ['DELETE', '/api/v1/connections/nowhere'], ['POST', '/api/v1/connections/nowhere/test']] as const) {
        const res = await call(method, url);
        assert.equal(res.statusCode, 404, `${method} ${url}`);
        assert.equal(res.json().error.code, 'CONNECTION_NOT_FOUND');
      }
    });

    test('the list pages by key', async () => {
      for (const k of ['page_a', 'page_b', 'page_c']) await call('PUT', `/api/v1/connections/${k}`, { provider: 'http', config: { baseUrl: target.url } });
      const first = (await call('GET', '/api/v1/connections?limit=2')).json();
      assert.deepEqual(first.items.map((c: { key: string }) => c.key), ['hubspot_main', 'page_a']);
      const rest = (await call('GET', `/api/v1/connections?limit=10&cursor=${first.nextCursor}`)).json();
      assert.deepEqual(rest.items.map((c: { key: string }) => c.key), ['page_b', 'page_c']);
      assert.deepEqual(rest.items[0].secrets, {}, 'an http connection may have no secrets');
      for (const k of ['page_a', 'page_b', 'page_c']) assert.equal((await call('DELETE', `/api/v1/connections/${k}`)).statusCode, 204);
    });

    test('processes: unknown connection and wrong provider are refused; DELETE and a provider change are 409 while a process uses it', async () => {
      const proc = (connection: string) => ({
        name: 'Call',
        entityType: 'order',
        trigger: { manual: true },
        tasks: [{ key: 'call', kind: 'http.request', connection, input: { path: "'/x'" } }],
      });
      const unknown = await call('PUT', '/api/v1/processes/uses_api', proc('api_side'));
      assert.equal(unknown.statusCode, 400);
      assert.deepEqual(unknown.json().error.details.fields.map((f: { code: string }) => f.code), ['unknown_connection']);
      const wrong = await call('PUT', '/api/v1/processes/uses_api', proc('hubspot_main'));
      assert.equal(wrong.statusCode, 400);
      assert.deepEqual(wrong.json().error.details.fields.map((f: { code: string }) => f.code), ['wrong_provider']);

      assert.equal((await call('PUT', '/api/v1/connections/api_side', { provider: 'http', config: { baseUrl: target.url } })).statusCode, 201);
      const ok = await call('PUT', '/api/v1/processes/uses_api', proc('api_side'));
      assert.equal(ok.statusCode, 201, ok.body);

      const del = await call('DELETE', '/api/v1/connections/api_side');
      assert.equal(del.statusCode, 409);
      assert.equal(del.json().error.code, 'CONNECTION_IN_USE');
      assert.deepEqual(del.json().error.details.processes, ['uses_api']);
      const change = await call('PUT', '/api/v1/connections/api_side', { provider: 'hubspot', secrets: { accessToken: 'abc' } });
      assert.equal(change.statusCode, 409);
      assert.equal(change.json().error.code, 'CONNECTION_IN_USE');
      // Same provider: fine.
      assert.equal((await call('PUT', '/api/v1/connections/api_side', { provider: 'http', config: { baseUrl: `${target.url}/v2` } })).statusCode, 200);

      assert.equal((await call('DELETE', '/api/v1/processes/uses_api')).statusCode, 204);
      // Free now: a provider change needs that provider's secrets.
      const noSecrets = await call('PUT', '/api/v1/connections/api_side', { provider: 'hubspot' });
      assert.equal(noSecrets.statusCode, 400);
      assert.match(noSecrets.json().error.message, /provider changed/);
      assert.equal((await call('DELETE', '/api/v1/connections/api_side')).statusCode, 204);
      assert.equal((await call('GET', '/api/v1/connections/api_side')).statusCode, 404);
    });

    test('POST test: ok for a reachable http API (secret headers sent), ok:false with a code for 401, 5xx and no server', async () => {
      const put = await call('PUT', '/api/v1/connections/api_main', {
        provider: 'http',
        name: 'Orders API',
        config: { baseUrl: `${target.url}/v1`, testPath: '/ping' },
        secrets: { headers: { Authorization: HTTP_AUTH, 'X-Api-Key': HTTP_KEY } },
      });
      assert.equal(put.statusCode, 201, put.body);
      assert.deepEqual(put.json().secrets, { headers: 'set' });

      target.script({ status: 404, body: { message: 'no such thing' } });
      const ok = await call('POST', '/api/v1/connections/api_main/test');
      assert.deepEqual(ok.json(), { ok: true });
      const hit = target.hits[target.hits.length - 1]!;
      assert.equal(hit.path, '/v1/ping');
      assert.equal(hit.headers.authorization, HTTP_AUTH);
      assert.equal(hit.headers['x-api-key'], HTTP_KEY);

      target.script({ status: 401, body: { message: 'bad token' } });
      const denied = (await call('POST', '/api/v1/connections/api_main/test')).json();
      assert.equal(denied.ok, false);
      assert.deepEqual(Object.keys(denied.error).sort(), ['code', 'message', 'retryable']);
      assert.equal(denied.error.code, 'HTTP_AUTHENTICATION');
      assert.equal(denied.error.retryable, false);

      // A server that echoes the credentials in its error: the answer blanks them out.
      target.script({ status: 500, body: { message: `upstream rejected ${HTTP_AUTH} and ${HTTP_KEY}` } });
      const echoed = (await call('POST', '/api/v1/connections/api_main/test')).json();
      assert.equal(echoed.ok, false);
      assert.equal(echoed.error.code, 'HTTP_STATUS_500');
      assert.equal(echoed.error.retryable, true);
      assert.match(echoed.error.message, /\[redacted\]/);

      await call('PUT', '/api/v1/connections/nobody_home', { provider: 'http', config: { baseUrl: 'http://127.0.0.1:9' } });
      const down = (await call('POST', '/api/v1/connections/nobody_home/test')).json();
      assert.equal(down.ok, false);
      assert.equal(down.error.code, 'NETWORK_ERROR');
      assert.equal(down.error.retryable, true);
      await call('DELETE', '/api/v1/connections/nobody_home');
    });

    test('POST test of hubspot and dropbox connections goes through their providers (secrets decrypted, never shown)', async () => {
      const hub = await call('POST', '/api/v1/connections/hubspot_main/test');
      assert.equal(hub.statusCode, 200);
      const hit = target.hits[target.hits.length - 1]!;
      assert.equal(hit.headers.authorization, `Bearer ${HUB_TOKEN}`);
      const put = await call('PUT', '/api/v1/connections/dropbox_main', {
        provider: 'dropbox',
        config: { baseUrl: target.url, contentUrl: target.url },
        secrets: { refreshToken: DBX_REFRESH, appKey: 'appkey-DBXKEY-33cc', appSecret: DBX_APP_SECRET },
      });
      assert.equal(put.statusCode, 201, put.body);
      assert.deepEqual(put.json().secrets, { appKey: 'set', appSecret: 'set', refreshToken: 'set' });
      target.script({ status: 400, body: { error: 'invalid_grant', error_description: `refresh token ${DBX_REFRESH} is not valid` } });
      const dbx = await call('POST', '/api/v1/connections/dropbox_main/test');
      assert.equal(dbx.statusCode, 200);
      assert.equal(dbx.json().ok, false, dbx.body);
    });

    test('task side: links get/put (upsert keeps createdAt), memo per connection, rate limit, CONNECTION_NOT_FOUND', async () => {
      const scope = { orgId: t.defaultOrgId, runId: 'run_1', entityId: orderId, entityType: 'order', connectionKey: 'hubspot_main' };
      const cc = await connectionContextFor(t.services, scope);
      assert.equal(cc.connection.provider, 'hubspot');
      assert.equal(cc.connection.secrets.accessToken, HUB_TOKEN);
      assert.equal(await cc.links.get('deals'), undefined);
      await cc.links.put({ externalType: 'deals', externalId: '123', url: 'https://app.hubspot.com/x/123' });
      assert.deepEqual(await cc.links.get('deals'), { entityId: orderId, connection: 'hubspot_main', provider: 'hubspot', externalType: 'deals', externalId: '123', url: 'https://app.hubspot.com/x/123' });

      const links = await call('GET', `/api/v1/entities/order/${orderId}/links`);
      assert.equal(links.statusCode, 200);
      const [first] = links.json().items;
      assert.deepEqual({ ...first, createdAt: undefined, updatedAt: undefined }, { connection: 'hubspot_main', provider: 'hubspot', externalType: 'deals', externalId: '123', url: 'https://app.hubspot.com/x/123', runId: 'run_1', createdAt: undefined, updatedAt: undefined });
      assert.equal(links.json().nextCursor, null);

      await clockPassed(first.updatedAt); // so that updatedAt can move
      const again = await connectionContextFor(t.services, { ...scope, runId: 'run_2' });
      await again.links.put({ externalType: 'deals', externalId: '456' });
      const [second] = (await call('GET', `/api/v1/entities/order/${orderId}/links`)).json().items;
      assert.equal(second.externalId, '456');
      assert.equal(second.url, null);
      assert.equal(second.runId, 'run_2');
      assert.equal(second.createdAt, first.createdAt);
      assert.ok(second.updatedAt > first.updatedAt);
      await assert.rejects(again.links.put({ externalType: 'deals', externalId: '1', entityId: '01jxxxxxxxxxxxxxxxxxxxxxxx' }), (e: unknown) => e instanceof TaskFailure && e.failure.code === 'ENTITY_NOT_FOUND');

      // The memo lives per connection in this process, until the connection changes.
      cc.memo.set('token', 'kept');
      assert.equal(again.memo.get('token'), 'kept');
      await call('PUT', '/api/v1/connections/hubspot_main', { provider: 'hubspot', config: { baseUrl: target.url, portalId: '42' } });
      assert.equal((await connectionContextFor(t.services, scope)).memo.get('token'), undefined);

      // acquire and backOff reach the shared limiter.
      await cc.acquire();
      await cc.backOff(1);

      await assert.rejects(connectionContextFor(t.services, { ...scope, connectionKey: 'gone' }), (e: unknown) => e instanceof TaskFailure && e.failure.code === 'CONNECTION_NOT_FOUND' && !e.failure.retryable);

      assert.equal((await call('GET', '/api/v1/entities/order/01jxxxxxxxxxxxxxxxxxxxxxxx/links')).json().error.code, 'ENTITY_NOT_FOUND');
      assert.equal((await call('GET', '/api/v1/entities/order/not-an-id/links')).statusCode, 404);
      assert.equal((await call('GET', `/api/v1/entities/invoice/${orderId}/links`)).json().error.code, 'ENTITY_TYPE_NOT_FOUND');
    });

    test('organizations do not see each other’s connections', async () => {
      const org = await call('POST', '/api/v1/organizations', { name: 'Other' });
      assert.equal(org.statusCode, 201, org.body);
      const key = org.json().apiKey.key as string;
      assert.deepEqual((await call('GET', '/api/v1/connections', undefined, { key })).json().items, []);
      assert.equal((await call('GET', '/api/v1/connections/hubspot_main', undefined, { key })).statusCode, 404);
      assert.equal((await call('POST', '/api/v1/connections/hubspot_main/test', undefined, { key })).statusCode, 404);
      assert.equal((await call('PUT', '/api/v1/connections/hubspot_main', { provider: 'http', config: { baseUrl: target.url } }, { key })).statusCode, 201);
      assert.equal((await call('GET', '/api/v1/connections/hubspot_main')).json().provider, 'hubspot');
    });

    test('a run of http.request through the connection: path under baseUrl, secret headers sent, rate limit used, secrets redacted from the step', async () => {
      const proc = await call('PUT', '/api/v1/processes/push_order', {
        name: 'Push order',
        entityType: 'order',
        trigger: { manual: true },
        settings: { retry: { maxAttempts: 1 } },
        tasks: [{ key: 'push', kind: 'http.request', connection: 'api_main', input: { method: 'POST', path: "'/orders/' & order_number", body: "{ 'n': order_number }" } }],
      });
      assert.equal(proc.statusCode, 201, proc.body);
      // The API echoes a credential back: the step's output must not keep it.
      target.script({ status: 200, body: { received: true, echo: HTTP_KEY, auth: HTTP_AUTH } });
      const started = await call('POST', `/api/v1/entities/order/${orderId}/process`, { process: 'push_order', wait: true });
      assert.equal(started.statusCode, 200, started.body);
      const run = started.json().run;
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error ?? run.steps));
      const hit = target.hits[target.hits.length - 1]!;
      assert.equal(hit.path, '/v1/orders/ORD-1');
      assert.equal(hit.headers.authorization, HTTP_AUTH);
      assert.equal(hit.headers['x-api-key'], HTTP_KEY);
      assert.deepEqual(hit.body, { n: 'ORD-1' });
      assert.equal(run.steps[0].output.body.echo, '[redacted]');

      // A failing call whose error body echoes the secret: the step error is redacted too.
      target.script({ status: 422, body: { message: `header X-Api-Key ${HTTP_KEY} is not allowed here` } });
      const failed = (await call('POST', `/api/v1/entities/order/${orderId}/process`, { process: 'push_order', wait: true })).json().run;
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error.code, 'HTTP_STATUS_422');
      await eventually(async () => (await call('GET', `/api/v1/runs/${failed.id}`)).json().status === 'failed', 5000, 'failed run');
      await call('GET', `/api/v1/runs?process=push_order`);
      await call('GET', `/api/v1/runs/${run.id}`);
      await call('GET', '/api/v1/processes/push_order');
    });

    test('SECRET HYGIENE: no response body, log line, run step or table row (but the sealed column) holds a secret value', async (tc) => {
      // Routes that might show them.
      for (const url of ['/api/v1/connections', '/api/v1/connections/api_main', '/api/v1/connections/dropbox_main', '/api/v1/openapi.json', `/api/v1/entities/order/${orderId}/links`, '/api/v1/processes']) {
        await call('GET', url);
      }
      // Malformed bodies carrying secrets: the error does not repeat them.
      await call('PUT', '/api/v1/connections/api_main', `{"provider":"http","config":{"baseUrl":"${target.url}"},"secrets":{"headers":{"Authorization":"${HTTP_AUTH}"}}},`);
      await call('PUT', '/api/v1/connections/api_main', { provider: 'http', config: { baseUrl: target.url, token: HTTP_KEY }, secrets: { headers: { Authorization: HTTP_AUTH } } });
      await call('PUT', '/api/v1/connections/api_main', { provider: 'http', config: { baseUrl: target.url }, secrets: { headers: { Authorization: 42 } } });

      // A fault while the secrets are in hand: logged (500), without them.
      const box = t.services.secretBox;
      const seal = box.seal;
      box.seal = () => {
        throw new Error('the disk is on fire');
      };
      try {
        const crashed = await call('PUT', '/api/v1/connections/api_main', { provider: 'http', config: { baseUrl: target.url }, secrets: { headers: { Authorization: HTTP_AUTH } } });
        assert.equal(crashed.statusCode, 500);
      } finally {
        box.seal = seal;
      }
      assert.ok(logLines.some((l) => l.includes('the disk is on fire')), 'the fault was logged');

      const bodyLeaks = seenBodies.filter((b) => leaks(b).length > 0);
      assert.deepEqual(bodyLeaks, [], `responses holding a secret:\n${bodyLeaks.join('\n').slice(0, 2000)}`);
      tc.diagnostic(`checked ${seenBodies.length} response bodies and ${logLines.length} log lines`);
      const logLeaks = logLines.filter((l) => leaks(l).length > 0);
      assert.deepEqual(logLeaks, [], `log lines holding a secret:\n${logLeaks.join('\n').slice(0, 2000)}`);

      const { db, dialect: d } = t.services.database;
      const steps = await db.selectFrom('run_steps').selectAll().execute();
      assert.ok(steps.length >= 2, 'the runs wrote their steps');
      for (const s of steps) assert.deepEqual(leaks(JSON.stringify([s.input, s.output, s.error])), [], `run step ${s.run_id}/${s.idx}`);

      const tables =
        d === 'sqlite'
          ? (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`.execute(db)).rows.map((r) => r.name)
          : (await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`.execute(db)).rows.map((r) => r.name);
      assert.ok(tables.includes('connections') && tables.includes('run_steps') && tables.includes('links'));
      for (const table of tables) {
        const rows = (await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)}`.execute(db)).rows;
        assert.deepEqual(leaks(JSON.stringify(rows)), [], `table ${table} holds a secret`);
      }
      // The sealed blobs do open to the secrets (they are there, encrypted).
      const sealed = (await db.selectFrom('connections').select(['key', 'secrets']).where('org_id', '=', t.defaultOrgId).execute()).map((r) => r.secrets);
      assert.ok(sealed.every((s) => s.startsWith('v1:')));
      assert.deepEqual((await loadConnection(t.services, t.defaultOrgId, 'api_main')).view.secrets, { headers: { Authorization: HTTP_AUTH, 'X-Api-Key': HTTP_KEY } });
    });
  });
}
