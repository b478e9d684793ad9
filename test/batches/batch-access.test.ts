/** Batches: roles and organization isolation as for runs, and batch.updated on the bus (throttled, always a final one). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/target.js';
import type { BusEvent } from '../../src/engine/bus.js';

const TICKET = { name: 'Ticket', attributes: [{ key: 'title', type: 'string', required: true }, { key: 'n', type: 'integer' }], statuses: [{ key: 'open', name: 'Open', initial: true }] };
const DELAY = { name: 'Wait', entityType: 'ticket', trigger: { manual: true }, settings: { concurrency: 10 }, tasks: [{ key: 'wait', kind: 'delay', input: { ms: 20 } }] };

for (const dialect of DIALECTS) {
  describe(`batch access and events on ${dialect}`, () => {
    let t: TestApp;
    const events: Array<BusEvent & { at: number }> = [];
    let unsubscribe: () => void;

    before(async () => {
      // The feeder's own pace (250 ms ticks): what limits batch.updated to a few per second.
      t = await startTestApp(dialect, { worker: { pollMs: 50 } });
      unsubscribe = t.services.bus.subscribe((e) => {
        if (e.type === 'batch.updated') events.push({ ...e, at: Date.now() });
      });
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
      assert.equal((await t.call('PUT', '/api/v1/processes/wait', DELAY)).statusCode, 201);
      for (let n = 1; n <= 120; n++) assert.equal((await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: `T${n}`, n } })).statusCode, 201);
    });
    after(async () => {
      unsubscribe();
      await t.close();
    });

    test('batch.updated: a few per second per batch at most, and a final one with the batch completed', async () => {
      const created = (await t.call('POST', '/api/v1/batches', { process: 'wait' })).json();
      assert.equal(created.total, 120);
      const last = await eventually(() => events.find((e) => (e.data as { id: string; status: string }).id === created.id && (e.data as { status: string }).status === 'completed'), 60_000, 'the final batch.updated');
      const mine = events.filter((e) => (e.data as { id: string }).id === created.id);
      assert.equal(last.orgId, t.defaultOrgId);
      assert.equal((last.data as { succeeded: number }).succeeded, 120);
      const seconds = Math.max(1, (mine[mine.length - 1]!.at - mine[0]!.at) / 1000);
      // ticks every 250 ms, plus the creation's own event
      assert.ok(mine.length <= 4 * seconds + 2, `${mine.length} events in ${seconds} s`);
      assert.ok(mine.length >= 2);
    });

    test('roles: viewers read and preview; operators create, pause, resume, cancel, retry-failed', async () => {
      const key = async (role: string) => (await t.call('POST', '/api/v1/api-keys', { name: role, role })).json().key as string;
      const viewer = await key('viewer');
      const operator = await key('operator');
      const body = { process: 'wait', filter: { where: 'n <= 5' } };
      assert.equal((await t.call('POST', '/api/v1/batches', body, { key: viewer })).json().error.code, 'FORBIDDEN');
      assert.equal((await t.call('POST', '/api/v1/batches/preview', body, { key: viewer })).json().total, 5);
      const created = await t.call('POST', '/api/v1/batches', body, { key: operator });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id;
      for (const action of ['pause', 'resume', 'cancel', 'retry-failed']) {
        const res = await t.call('POST', `/api/v1/batches/${id}/${action}`, undefined, { key: viewer });
        assert.equal(res.statusCode, 403, action);
      }
      assert.equal((await t.call('GET', `/api/v1/batches/${id}`, undefined, { key: viewer })).statusCode, 200);
      assert.equal((await t.call('GET', `/api/v1/batches/${id}/items`, undefined, { key: viewer })).json().items.length, 5);
      assert.equal((await t.call('POST', `/api/v1/batches/${id}/pause`, undefined, { key: operator })).statusCode, 202);
      assert.equal((await t.call('POST', `/api/v1/batches/${id}/cancel`, undefined, { key: operator })).json().status, 'cancelled');
      assert.equal((await t.call('GET', `/api/v1/batches/${id}`)).json().createdBy.name, 'operator');
    });

    test('organizations are isolated: another org sees no batch, item or process of this one', async () => {
      const created = (await t.call('POST', '/api/v1/batches', { process: 'wait', filter: { where: 'n <= 3' } })).json();
      const other = (await t.call('POST', '/api/v1/organizations', { name: `Other ${dialect}` })).json().apiKey.key as string;
      const as = (method: 'GET' | 'POST', url: string, body?: unknown) => t.call(method, url, body, { key: other });
      for (const url of [`/api/v1/batches/${created.id}`, `/api/v1/batches/${created.id}/items`]) assert.equal((await as('GET', url)).json().error.code, 'BATCH_NOT_FOUND');
      for (const action of ['pause', 'resume', 'cancel', 'retry-failed']) assert.equal((await as('POST', `/api/v1/batches/${created.id}/${action}`)).json().error.code, 'BATCH_NOT_FOUND');
      assert.deepEqual((await as('GET', '/api/v1/batches')).json(), { items: [], nextCursor: null });
      assert.equal((await as('POST', '/api/v1/batches', { process: 'wait' })).json().error.code, 'PROCESS_NOT_FOUND');
      assert.deepEqual((await as('GET', `/api/v1/runs?batch=${created.id}`)).json().items, []);
      const otherEvents = events.filter((e) => e.orgId !== t.defaultOrgId);
      assert.deepEqual(otherEvents, []);
    });
  });
}
