/**
 * The figures the console shows beside its lists, on each database: a connection's rate limit in force
 * and the provider's recent 429 answers (GET /connections/{key}), and each process's last failure
 * (GET /processes). The 429 comes from a real run against a local server that answers 429.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ORDER_TYPE } from '../support/order.js';
import { startTarget, type Target } from '../support/target.js';
import { connectionContextFor } from '../../src/engine/connection-context.js';
import { KEEP_ANSWERS, recentAnswers, recordAnswer } from '../../src/store/rate-limit-answers.js';

for (const dialect of DIALECTS) {
  describe(`console figures on ${dialect}`, () => {
    let t: TestApp;
    let target: Target;
    let orderId: string;
    const push = { name: 'Push', entityType: 'order', trigger: { manual: true }, settings: { retry: { maxAttempts: 1 } }, tasks: [{ key: 'push', kind: 'http.request', connection: 'api', input: { method: 'POST', path: "'/orders'" } }] };

    before(async () => {
      target = await startTarget();
      t = await startTestApp(dialect, { worker: {} });
      assert.equal((await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE)).statusCode, 201);
      assert.equal((await t.call('PUT', '/api/v1/connections/api', { provider: 'http', config: { baseUrl: target.url } })).statusCode, 201);
      assert.equal((await t.call('PUT', '/api/v1/processes/push', push)).statusCode, 201);
      assert.equal((await t.call('PUT', '/api/v1/processes/quiet', { ...push, name: 'Quiet' })).statusCode, 201);
      orderId = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-1', total: 10 } })).json().id;
    });
    after(async () => {
      await t.close();
      await target.close();
    });

    const runPush = async () => {
      const res = await t.call('POST', `/api/v1/entities/order/${orderId}/process`, { process: 'push', wait: true });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().run as { id: string; status: string; error: { code: string; message: string } };
    };

    test('the rate limit in force: none for http, the provider default for hubspot, the configured one when set', async () => {
      const api = (await t.call('GET', '/api/v1/connections/api')).json();
      assert.equal(api.rateLimit, null);
      assert.deepEqual(api.recent429s, []);
      await t.call('PUT', '/api/v1/connections/hub', { provider: 'hubspot', config: { baseUrl: target.url }, secrets: { accessToken: 'pat-x' } });
      assert.deepEqual((await t.call('GET', '/api/v1/connections/hub')).json().rateLimit, { requests: 100, perMs: 10_000, from: 'provider default' });
      await t.call('PUT', '/api/v1/connections/hub', { provider: 'hubspot', config: { baseUrl: target.url, rateLimit: { requests: 5, perMs: 1000 } } });
      assert.deepEqual((await t.call('GET', '/api/v1/connections/hub')).json().rateLimit, { requests: 5, perMs: 1000, from: 'config' });
      assert.equal((await t.call('GET', '/api/v1/connections')).json().items[0].recent429s, undefined, 'the list stays light');
    });

    test('a 429 from the provider is listed with its Retry-After; the process shows it as its last failure', async () => {
      assert.equal((await t.call('GET', '/api/v1/processes')).json().items.every((p: { lastFailure: unknown }) => p.lastFailure === null), true);
      const before = Date.now();
      target.script({ status: 429, headers: { 'retry-after': '1' }, body: { error: 'slow down' } });
      const run = await runPush();
      assert.equal(run.status, 'failed');
      const conn = (await t.call('GET', '/api/v1/connections/api')).json();
      assert.equal(conn.recent429s.length, 1);
      assert.equal(conn.recent429s[0].retryAfterMs, 1000);
      const at = Date.parse(conn.recent429s[0].at);
      assert.ok(at >= before - 5 && at <= Date.now(), conn.recent429s[0].at);

      const list = (await t.call('GET', '/api/v1/processes')).json().items as Array<{ key: string; lastFailure: { runId: string; code: string; message: string; at: string } | null }>;
      const failure = list.find((p) => p.key === 'push')!.lastFailure!;
      assert.equal(failure.runId, run.id);
      assert.equal(failure.code, run.error.code);
      assert.equal(failure.message, run.error.message);
      assert.ok(Date.parse(failure.at) >= before);
      assert.equal(list.find((p) => p.key === 'quiet')!.lastFailure, null, 'a process that never failed has none');

      // A later failure (a 500 this time, no 429) replaces it; a success does not.
      target.script({ status: 500, body: { error: 'boom' } });
      const second = await runPush();
      assert.equal(second.status, 'failed');
      assert.equal((await runPush()).status, 'succeeded');
      const one = (await t.call('GET', '/api/v1/processes/push')).json();
      assert.equal(one.lastFailure.runId, second.id);
      assert.notEqual(one.lastFailure.code, failure.code);
      assert.equal((await t.call('GET', '/api/v1/connections/api')).json().recent429s.length, 1, 'a 500 is no 429');
    });

    test('a 429 without Retry-After is listed with retryAfterMs null; a spent window (no refusal) is not listed', async () => {
      target.script({ status: 429, body: {} });
      assert.equal((await runPush()).status, 'failed');
      const listed = (await t.call('GET', '/api/v1/connections/api')).json().recent429s;
      assert.equal(listed.length, 2);
      assert.equal(listed[0].retryAfterMs, null, 'newest first');
      const cc = await connectionContextFor(t.services, { orgId: t.defaultOrgId, runId: 'r', entityId: orderId, entityType: 'order', connectionKey: 'api' });
      await cc.backOff(1, 'window-spent');
      assert.equal((await t.call('GET', '/api/v1/connections/api')).json().recent429s.length, 2);
    });

    test(`bounded: only the newest ${KEEP_ANSWERS} answers of a connection are kept; other connections and organizations are apart`, async () => {
      const { db } = t.services.database;
      const base = Date.now() + 60_000;
      for (let i = 0; i < KEEP_ANSWERS + 5; i++) await recordAnswer(db, t.defaultOrgId, 'api', base + i, i);
      await recordAnswer(db, 'another_org', 'api', base, 1);
      const kept = await recentAnswers(db, t.defaultOrgId, 'api');
      assert.equal(kept.length, KEEP_ANSWERS);
      assert.deepEqual(kept.slice(0, 3).map((a) => a.retryAfterMs), [KEEP_ANSWERS + 4, KEEP_ANSWERS + 3, KEEP_ANSWERS + 2]);
      const rows = await db.selectFrom('rate_limit_answers').select('at').where('org_id', '=', t.defaultOrgId).where('connection', '=', 'api').execute();
      assert.equal(rows.length, KEEP_ANSWERS, 'older rows are deleted, not only hidden');
      assert.equal((await recentAnswers(db, 'another_org', 'api')).length, 1);
      assert.deepEqual(await recentAnswers(db, t.defaultOrgId, 'hub'), []);
      // Deleting the connection forgets them.
      assert.equal((await t.call('DELETE', '/api/v1/processes/push')).statusCode, 204);
      assert.equal((await t.call('DELETE', '/api/v1/processes/quiet')).statusCode, 204);
      assert.equal((await t.call('DELETE', '/api/v1/connections/api')).statusCode, 204);
      assert.deepEqual(await recentAnswers(db, t.defaultOrgId, 'api'), []);
    });
  });
}
