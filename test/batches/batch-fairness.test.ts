/**
 * Fair to live work (issue 12): a status-triggered run queued while a large batch runs starts at once
 * — the claim takes live runs before batch runs, and the batch's window leaves a tenth of the process's
 * slots free — instead of waiting for the batch. The bound asserted is generous (a loaded test machine);
 * the figures are printed (bench/batch measures them at scale).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/target.js';
import { startSlowTarget } from '../support/slow-target.js';
import { newId } from '../../src/domain/ids.js';

const ITEMS = 3000;
/** Generous: the batch alone needs far longer than this on the same machine. */
const LIVE_BOUND_MS = 5000;

const ORDER = {
  name: 'Order',
  attributes: [{ key: 'n', type: 'integer', required: true }],
  statuses: [{ key: 'approved', name: 'Approved', initial: true }, { key: 'rush', name: 'Rush' }],
  transitions: [{ from: ['approved'], to: 'rush' }],
};

for (const dialect of DIALECTS) {
  describe(`live runs during a large batch on ${dialect}`, () => {
    let t: TestApp;
    let slow: Awaited<ReturnType<typeof startSlowTarget>>;
    before(async () => {
      slow = await startSlowTarget(40);
      t = await startTestApp(dialect, { worker: { pollMs: 100 } });
      assert.equal((await t.call('PUT', '/api/v1/entity-types/order', ORDER)).statusCode, 201);
      const call = { key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${slow.url}/x'` } };
      // One process for both: live runs compete with the batch for the same process slots too.
      assert.equal((await t.call('PUT', '/api/v1/processes/sync', { name: 'Sync', entityType: 'order', trigger: { status: 'rush' }, settings: { concurrency: 50 }, tasks: [call] })).statusCode, 201);
      const { db } = t.services.database;
      const now = new Date().toISOString();
      for (let i = 0; i < ITEMS; i += 500) {
        const rows = Array.from({ length: Math.min(500, ITEMS - i) }, (_, j) => ({ id: newId(), org_id: t.defaultOrgId, type: 'order', status: 'approved', attributes: JSON.stringify({ n: i + j }), version: 1, created_at: now, updated_at: now }));
        await db.insertInto('entities').values(rows).execute();
      }
    });
    after(async () => {
      await t.close();
      await slow.close();
    });

    test('a live order saved mid-batch finishes its process within a bounded time, long before the batch', async () => {
      const live = (await t.call('POST', '/api/v1/entities/order', { attributes: { n: -1 } })).json();
      const created = await t.call('POST', '/api/v1/batches', { process: 'sync', filter: { status: ['approved'] } });
      assert.equal(created.statusCode, 201, created.body);
      const batch = created.json();
      const t0 = Date.now();
      // Wait until the batch is well under way: its window is full and runs keep ending.
      const mid = await eventually(async () => {
        const b = (await t.call('GET', `/api/v1/batches/${batch.id}`)).json();
        return b.succeeded >= 300 ? b : undefined;
      }, 60_000, 'the batch under way');
      const rate = mid.succeeded / ((Date.now() - t0) / 1000);
      const saved = Date.now();
      const res = await t.call('PATCH', `/api/v1/entities/order/${live.id}`, { status: 'rush' });
      assert.equal(res.statusCode, 200, res.body);
      const runId = res.json().queuedRuns[0].id as string;
      const run = await eventually(async () => {
        const r = (await t.call('GET', `/api/v1/runs/${runId}`)).json();
        return r.status === 'succeeded' ? r : undefined;
      }, 60_000, 'the live run');
      const latency = Date.now() - saved;
      const startedAfter = Date.parse(run.startedAt) - saved;
      const during = (await t.call('GET', `/api/v1/batches/${batch.id}`)).json();
      console.log(
        `# ${dialect}: live run finished ${latency} ms after its save (started after ${startedAfter} ms) while the batch had ${during.succeeded}/${ITEMS} done; ` +
          `batch ${rate.toFixed(0)} items/s; load average ${loadavg()[0]!.toFixed(1)}`,
      );
      assert.notEqual(during.status, 'completed', 'the live run finished during the batch');
      assert.ok(latency < LIVE_BOUND_MS, `the live run took ${latency} ms`);
      await t.call('POST', `/api/v1/batches/${batch.id}/cancel`);
    });
  });
}
