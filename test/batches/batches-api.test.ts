/** Batches over the API on both databases: preview, create, progress, items, pause/resume, cancel, retry-failed. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/wait.js';
import { startGate, type Gate } from '../support/gate.js';
import { countItemsByStatus } from '../../src/store/batch-items.js';

const TICKET = {
  name: 'Ticket',
  attributes: [{ key: 'title', type: 'string', required: true }, { key: 'n', type: 'integer' }, { key: 'done', type: 'boolean' }],
  statuses: [{ key: 'open', name: 'Open', initial: true }, { key: 'closed', name: 'Closed' }],
  transitions: [{ from: ['open'], to: 'closed' }],
};
const fast = { retry: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 20 } };
const mark = { key: 'mark', kind: 'entity.update', input: { attributes: "{ 'done': true }" } };
// fails for every n divisible by 5 (an expression error: not retryable)
const failing = { key: 'bad', kind: 'http.request', when: 'n % 5 = 0', input: { url: "'http://x/' & $number('x')" } };

type BatchBody = Record<string, unknown> & { id: string; status: string };

for (const dialect of DIALECTS) {
  describe(`batches API on ${dialect}`, () => {
    let t: TestApp;
    let gate: Gate;
    const ids: string[] = [];
    const get = async (id: string): Promise<BatchBody> => (await t.call('GET', `/api/v1/batches/${id}`)).json();
    const until = (id: string, what: string, ok: (b: BatchBody) => boolean) =>
      eventually(async () => {
        const b = await get(id);
        return ok(b) ? b : undefined;
      }, 30_000, `batch ${what}`);
    const create = async (body: unknown) => {
      const res = await t.call('POST', '/api/v1/batches', body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as BatchBody;
    };
    /** Counters as stored equal the items counted (the O(1) progress never drifts from the items). */
    const consistent = async (b: BatchBody) => {
      const counted = await countItemsByStatus(t.services.database.db, t.defaultOrgId, b.id);
      for (const s of ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']) assert.equal(b[s], counted[s] ?? 0, `${s} of ${JSON.stringify(b)}`);
    };

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 50 }, feeder: { tickMs: 50, idleMs: 100 } });
      gate = await startGate();
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
      const procs: Record<string, unknown> = {
        mark: { name: 'Mark', entityType: 'ticket', trigger: { manual: true }, settings: { ...fast, concurrency: 20 }, tasks: [failing, mark] },
        held: { name: 'Held', entityType: 'ticket', trigger: { manual: true }, settings: { ...fast, concurrency: 3 }, tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${gate.url}/hold'` } }] },
      };
      for (const [key, def] of Object.entries(procs)) assert.ok([200, 201].includes((await t.call('PUT', `/api/v1/processes/${key}`, def)).statusCode), key);
      for (let n = 1; n <= 60; n++) {
        const res = await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: `T${n}`, n }, ...(n > 40 ? { status: 'closed' } : {}) });
        assert.equal(res.statusCode, 201, res.body);
        ids.push(res.json().id);
      }
    });
    after(async () => {
      gate.release(true);
      await t.close();
      await gate.close();
    });

    test('preview counts what create then runs; progress, items and runs?batch= follow the runs', async () => {
      const body = { process: 'mark', filter: { status: ['open'], where: 'n > 10' } };
      const preview = await t.call('POST', '/api/v1/batches/preview', body);
      assert.equal(preview.statusCode, 200, preview.body);
      assert.equal(preview.json().total, 30);
      assert.equal(preview.json().sample.length, 10);
      assert.ok(preview.json().sample.every((e: { status: string; attributes: { n: number } }) => e.status === 'open' && e.attributes.n > 10));
      const created = await create(body);
      assert.equal(created.total, 30);
      assert.equal(created.process, 'mark');
      assert.match(String((created.createdBy as { id: string }).id), /./);
      const done = await until(created.id, 'completed', (b) => b.status === 'completed');
      // n in 11..40: 15, 20, 25, 30, 35, 40 fail
      assert.deepEqual([done.succeeded, done.failed, done.queued, done.running, done.pending], [24, 6, 0, 0, 0]);
      assert.ok(done.finishedAt && done.startedAt);
      assert.equal(done.etaSeconds, 0);
      await consistent(done);
      const failed = (await t.call('GET', `/api/v1/batches/${created.id}/items?status=failed&limit=4`)).json();
      assert.equal(failed.items.length, 4);
      assert.ok(failed.nextCursor);
      assert.equal(failed.items[0].error.code, 'EXPRESSION_FAILED');
      const rest = (await t.call('GET', `/api/v1/batches/${created.id}/items?status=failed&cursor=${failed.nextCursor}`)).json();
      assert.equal(rest.items.length, 2);
      assert.equal(rest.nextCursor, null);
      const runs = (await t.call('GET', `/api/v1/runs?batch=${created.id}&limit=100`)).json();
      assert.equal(runs.items.length, 30);
      assert.ok(runs.items.every((r: { trigger: { type: string; batchId: string } }) => r.trigger.type === 'batch' && r.trigger.batchId === created.id));
      const list = (await t.call('GET', '/api/v1/batches?status=completed')).json();
      assert.ok(list.items.some((b: { id: string }) => b.id === created.id));
    });

    test('retry-failed queues the failed items again; a hand retry of a run keeps the counters right', async () => {
      const created = await create({ process: 'mark', filter: { ids: ids.slice(0, 10) } });
      const first = await until(created.id, 'completed', (b) => b.status === 'completed');
      assert.deepEqual([first.succeeded, first.failed], [8, 2]);
      const res = await t.call('POST', `/api/v1/batches/${created.id}/retry-failed`);
      assert.equal(res.statusCode, 202, res.body);
      const again = await until(created.id, 'completed again', (b) => b.status === 'completed' && b.failed === 2 && b.succeeded === 8);
      await consistent(again);
      const items = (await t.call('GET', `/api/v1/batches/${created.id}/items?status=failed`)).json().items;
      assert.ok(items.every((i: { attempts: number }) => i.attempts === 2));
      // by hand, from the start of a failed run: still fails (same data), counters move there and back
      const run = (await t.call('POST', `/api/v1/runs/${items[0].runId}/retry`, { from: 'start' })).json();
      assert.equal(run.id, items[0].runId);
      const after = await until(created.id, 'completed after a hand retry', (b) => b.status === 'completed' && b.failed === 2);
      await consistent(after);
    });

    test('pause: no new run starts, runs running finish; resume completes; pause of a finished batch → 409', async () => {
      const created = await create({ process: 'held', filter: { ids: ids.slice(0, 8) } });
      // window of a concurrency-3 process: 2 runs at once
      await eventually(() => gate.held.length === 2, 10_000, 'two runs held');
      const paused = await t.call('POST', `/api/v1/batches/${created.id}/pause`);
      assert.equal(paused.statusCode, 202, paused.body);
      assert.equal(paused.json().status, 'paused');
      gate.release();
      const settled = await until(created.id, 'two succeeded', (b) => b.succeeded === 2 && b.running === 0);
      await t.feeder!.tick();
      const still = await get(created.id);
      assert.deepEqual([still.status, still.pending, still.queued, still.running, gate.held.length], ['paused', 6, 0, 0, 0]);
      await consistent(settled);
      assert.equal((await t.call('POST', `/api/v1/batches/${created.id}/resume`)).statusCode, 202);
      gate.release(true);
      const done = await until(created.id, 'completed', (b) => b.status === 'completed');
      assert.equal(done.succeeded, 8);
      gate.release(false);
      for (const action of ['pause', 'resume', 'cancel']) {
        const res = await t.call('POST', `/api/v1/batches/${created.id}/${action}`);
        assert.equal(res.statusCode, 409, action);
        assert.equal(res.json().error.code, 'BATCH_FINISHED');
      }
    });

    test('cancel: items not started are cancelled, running runs finish', async () => {
      const created = await create({ process: 'held', filter: { ids: ids.slice(10, 20) } });
      await eventually(() => gate.held.length === 2, 10_000, 'two runs held');
      const res = await t.call('POST', `/api/v1/batches/${created.id}/cancel`);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().status, 'cancelled');
      assert.equal(res.json().cancelled, 8);
      gate.release();
      const done = await until(created.id, 'running ended', (b) => b.running === 0 && b.queued === 0);
      assert.deepEqual([done.status, done.succeeded, done.cancelled, done.pending], ['cancelled', 2, 8, 0]);
      await consistent(done);
      assert.equal((await t.call('POST', `/api/v1/batches/${created.id}/retry-failed`)).json().error.code, 'BATCH_FINISHED');
    });

    test('bad input: a 4xx with a stable code, and nothing written', async () => {
      const before = (await t.call('GET', '/api/v1/batches?limit=500')).json().items.length;
      const cases: Array<[unknown, number, string]> = [
        [{ process: 'nope' }, 404, 'PROCESS_NOT_FOUND'],
        [{ process: 'mark', entityType: 'widget' }, 409, 'PROCESS_WRONG_ENTITY_TYPE'],
        [{ process: 'mark', filter: { where: 'n >' } }, 400, 'EXPRESSION_INVALID'],
        [{ process: 'mark', filter: { status: ['gone'] } }, 400, 'STATUS_UNKNOWN'],
        [{ process: 'mark', filter: { ids: [ids[0], '01J0000000000000000000ZZZZ'] } }, 404, 'BATCH_ENTITIES_NOT_FOUND'],
        [{ process: 'mark', filter: { linked: { connection: 'nowhere', exists: false } } }, 404, 'CONNECTION_NOT_FOUND'],
        [{ process: 'mark', filter: { ids: Array.from({ length: 10_001 }, (_, i) => `x${i}`) } }, 400, 'VALIDATION_FAILED'],
        [{ process: 'mark', filter: { updatedAfter: 'yesterday' } }, 400, 'VALIDATION_FAILED'],
        [{ process: 'mark', filter: { color: 'red' } }, 400, 'VALIDATION_FAILED'],
        [{ process: 'mark', filter: { where: 'n > 1000' } }, 422, 'BATCH_EMPTY'],
      ];
      for (const [body, status, code] of cases) {
        for (const path of ['/api/v1/batches', '/api/v1/batches/preview']) {
          if (path.endsWith('preview') && code === 'BATCH_EMPTY') continue;
          const res = await t.call('POST', path, body);
          assert.equal(res.statusCode, status, `${path} ${JSON.stringify(body).slice(0, 80)}: ${res.body.slice(0, 200)}`);
          assert.equal(res.json().error.code, code);
        }
      }
      assert.equal((await t.call('GET', '/api/v1/batches/01J0000000000000000000ZZZZ')).json().error.code, 'BATCH_NOT_FOUND');
      assert.equal((await t.call('GET', '/api/v1/batches/x/items?status=done')).statusCode, 404);
      assert.equal((await t.call('GET', '/api/v1/batches?status=done')).json().error.code, 'INVALID_QUERY');
      assert.equal((await t.call('GET', '/api/v1/batches?limit=500')).json().items.length, before);
      const leftovers = await t.services.database.db.selectFrom('batches').select('id').where('status', '=', 'preparing').execute();
      assert.equal(leftovers.length, 0);
    });
  });
}
