/**
 * Calls every route of the API once or more — successes and the usual refusals — and hands each response to
 * `check` (test/support/openapi.ts validates it against the OpenAPI document). A new route gets a call here.
 */
import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { TestApp } from '../support/app.js';
import { ORDER_TYPE } from '../support/order.js';
import { startTarget } from '../support/target.js';
import { eventually } from '../support/wait.js';

type Check = (method: string, url: string, res: LightMyRequestResponse) => void;

export async function exerciseApi(t: TestApp, check: Check): Promise<void> {
  const target = await startTarget();
  const call = async (method: InjectOptions['method'], url: string, status: number, body?: unknown, options?: Parameters<TestApp['call']>[3]) => {
    const res = await t.call(method, url, body, options);
    assert.equal(res.statusCode, status, `${method} ${url}: ${res.body.slice(0, 500)}`);
    check(String(method), url, res);
    return res;
  };
  try {
    await call('GET', '/api/v1/health', 200, undefined, { key: null });
    await call('GET', '/api/v1/me', 200);
    await call('GET', '/api/v1/me', 401, undefined, { key: 'sf_not_a_key' });

    // Entity types.
    await call('PUT', '/api/v1/entity-types/order', 201, ORDER_TYPE);
    await call('PUT', '/api/v1/entity-types/order', 200, ORDER_TYPE);
    await call('PUT', '/api/v1/entity-types/warned', 201, { name: 'Warned', attributes: [{ key: 'n', type: 'number' }], statuses: [{ key: 'a', initial: true }], requirements: [{ key: 'r', condition: 'm > 1', message: 'm' }] });
    await call('PUT', '/api/v1/entity-types/broken', 400, { name: 'Broken', statuses: [] });
    await call('GET', '/api/v1/entity-types?limit=1', 200);
    await call('GET', '/api/v1/entity-types/order', 200);
    await call('GET', '/api/v1/entity-types/nope', 404);

    // Connections (an HTTP provider on a local server).
    await call('PUT', '/api/v1/connections/api_main', 201, { provider: 'http', name: 'API', config: { baseUrl: target.url }, secrets: { headers: { authorization: 'Bearer x' } } });
    await call('PUT', '/api/v1/connections/api_main', 200, { provider: 'http', name: 'API', config: { baseUrl: target.url } });
    await call('GET', '/api/v1/connections', 200);
    await call('GET', '/api/v1/connections/api_main', 200);
    await call('POST', '/api/v1/connections/api_main/test', 200);
    target.script({ status: 401, body: { message: 'no' } });
    const failed = await call('POST', '/api/v1/connections/api_main/test', 200);
    assert.equal(failed.json().ok, false);

    // Processes: one that calls the server, one that waits (to be cancelled).
    const push = { name: 'Push', entityType: 'order', trigger: { manual: true }, tasks: [{ key: 'push', kind: 'http.request', connection: 'api_main', input: { method: 'POST', path: "'/orders/' & order_number", body: "{ 'n': order_number }" } }] };
    await call('PUT', '/api/v1/processes/push', 201, push);
    await call('PUT', '/api/v1/processes/push', 200, { ...push, description: 'second version' });
    await call('PUT', '/api/v1/processes/slow', 201, { name: 'Slow', entityType: 'order', trigger: { manual: true }, tasks: [{ key: 'wait', kind: 'delay', input: { ms: 600_000 } }] });
    await call('PUT', '/api/v1/processes/bad', 400, { name: 'Bad', entityType: 'order', trigger: { manual: true }, tasks: [] });
    await call('GET', '/api/v1/processes', 200);
    await call('GET', '/api/v1/processes/push', 200);
    await call('GET', '/api/v1/processes/push/versions?limit=1', 200);
    await call('DELETE', '/api/v1/connections/api_main', 409);

    // Entities.
    const order = (await call('POST', '/api/v1/entities/order', 201, { attributes: { order_number: 'ORD-1', total: 120, customer_email: 'a@b.co' } })).json<{ id: string; version: number }>();
    await call('POST', '/api/v1/entities/order', 422, { attributes: { order_number: 'nope' } });
    await call('POST', '/api/v1/entities/order', 400, { attributes: {}, extra: 1 });
    await call('POST', '/api/v1/entities/nope', 404, { attributes: {} });
    const o = `/api/v1/entities/order/${order.id}`;
    await call('GET', '/api/v1/entities/order?status=received&limit=10', 200);
    await call('GET', `/api/v1/entities/order?where=${encodeURIComponent('total > 100')}`, 200);
    await call('GET', o, 200);
    await call('PATCH', o, 200, { attributes: { paid: true } }, { headers: { 'if-match': `"${order.version}"` } });
    await call('PATCH', o, 409, { attributes: { paid: false } }, { headers: { 'if-match': `"${order.version}"` } });
    await call('GET', `${o}/events`, 200);
    await call('GET', `/api/v1/entities/order?limit=0`, 400);

    // Runs: a dry run, a run waited for (200, with a step that sent a request), one queued, cancelled and retried.
    await call('POST', `${o}/process`, 200, { process: 'push', dryRun: true });
    const done = (await call('POST', `${o}/process`, 200, { process: 'push', wait: true })).json<{ run: { id: string; status: string } }>().run;
    assert.equal(done.status, 'succeeded');
    const queued = (await call('POST', `${o}/process`, 202, { process: 'slow' })).json<{ run: { id: string } }>().run;
    await call('POST', `/api/v1/runs/${queued.id}/cancel`, 202);
    await eventually(async () => (await t.call('GET', `/api/v1/runs/${queued.id}`)).json<{ status: string }>().status === 'cancelled', 10_000, 'the run to be cancelled');
    await call('POST', `/api/v1/runs/${queued.id}/cancel`, 409);
    await call('POST', `/api/v1/runs/${queued.id}/retry`, 202, { from: 'start' });
    await call('POST', `/api/v1/runs/${done.id}/retry`, 409);
    await call('POST', `/api/v1/runs/${done.id}/pin`, 200);
    await call('POST', `/api/v1/runs/${done.id}/unpin`, 200);
    await call('GET', '/api/v1/runs?limit=2', 200);
    await call('GET', `/api/v1/runs?process=push&status=succeeded,failed`, 200);
    await call('GET', '/api/v1/runs?status=bogus', 400);
    await call('GET', `/api/v1/runs/${done.id}`, 200);
    await call('GET', `/api/v1/runs/${done.id}/steps`, 200);
    await call('GET', '/api/v1/runs/01aaaaaaaaaaaaaaaaaaaaaaaa', 404);
    await call('GET', `${o}/runs`, 200);
    await call('GET', `${o}/links`, 200);
    await call('POST', `/api/v1/runs/${queued.id}/cancel`, 202);

    // Batches: one that finishes (retry-failed reopens it), one held by a long delay (pause, resume, cancel).
    const over = { process: 'push', filter: { where: 'total > 100' } };
    await call('POST', '/api/v1/batches/preview', 200, over);
    await call('POST', '/api/v1/batches/preview', 404, { process: 'nope' });
    await call('POST', '/api/v1/batches', 400, { process: 'push', filter: { where: 'total >' } });
    const quick = (await call('POST', '/api/v1/batches', 201, over)).json<{ id: string }>();
    await eventually(async () => (await t.call('GET', `/api/v1/batches/${quick.id}`)).json<{ status: string }>().status === 'completed', 30_000, 'the batch to complete');
    await call('GET', `/api/v1/batches/${quick.id}/items?status=succeeded`, 200);
    await call('POST', `/api/v1/batches/${quick.id}/retry-failed`, 202);
    const held = (await call('POST', '/api/v1/batches', 201, { process: 'slow', filter: { ids: [order.id] } })).json<{ id: string }>();
    await call('POST', `/api/v1/batches/${held.id}/pause`, 202);
    await call('POST', `/api/v1/batches/${held.id}/resume`, 202);
    await call('POST', `/api/v1/batches/${held.id}/cancel`, 202);
    await call('POST', `/api/v1/batches/${held.id}/pause`, 409);
    await call('GET', '/api/v1/batches?process=slow&status=cancelled,completed', 200);
    await call('GET', '/api/v1/batches?status=bogus', 400);
    await call('GET', `/api/v1/batches/${held.id}`, 200);
    await call('GET', '/api/v1/batches/01aaaaaaaaaaaaaaaaaaaaaaaa', 404);

    // Definitions as code.
    const exported = (await call('GET', '/api/v1/export', 200)).json<{ entityTypes: unknown[] }>();
    assert.equal(exported.entityTypes.length, 2);
    const yaml = await call('GET', '/api/v1/export?format=yaml', 200);
    assert.match(yaml.body, /entityTypes:/);
    const changed = { ...exported, processes: [{ key: 'extra', name: 'Extra', entityType: 'order', trigger: { manual: true }, tasks: [{ key: 'wait', kind: 'delay', input: { ms: 1 } }] }] };
    await call('POST', '/api/v1/apply?dryRun=true', 200, changed);
    await call('POST', '/api/v1/apply', 200, changed);
    await call('POST', '/api/v1/apply', 400, { entityTypes: 'no' });
    await call('POST', '/api/v1/apply?prune=true', 409, { entityTypes: [], connections: [], processes: [] });

    // Administration.
    const viewer = (await call('POST', '/api/v1/api-keys', 201, { name: 'Viewer', role: 'viewer' })).json<{ id: string; key: string }>();
    await call('POST', '/api/v1/api-keys', 400, { name: '', role: 'boss' });
    await call('GET', '/api/v1/api-keys', 200);
    await call('PUT', '/api/v1/entity-types/order', 403, ORDER_TYPE, { key: viewer.key });
    await call('DELETE', `/api/v1/api-keys/${viewer.id}`, 204);
    await call('POST', '/api/v1/organizations', 201, { name: 'Second' });
    await call('GET', '/api/v1/workers', 200);
    await call('GET', '/api/v1/admin/storage', 200);

    // Deletes.
    await call('DELETE', '/api/v1/entity-types/order', 409);
    await call('DELETE', o, 204);
    await call('DELETE', o, 404);
    for (const p of ['push', 'slow', 'extra']) await call('DELETE', `/api/v1/processes/${p}`, 204);
    await call('DELETE', '/api/v1/connections/api_main', 204);
    await call('DELETE', '/api/v1/entity-types/warned', 204);
  } finally {
    await target.close();
  }
}
