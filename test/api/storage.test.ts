/** Pinning runs (POST /runs/{id}/pin, /unpin) and GET /admin/storage, on every database. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';

const TICKET = { name: 'Ticket', attributes: [{ key: 'title', type: 'string', required: true }], statuses: [{ key: 'open', name: 'Open', initial: true }] };
const PROCESS = { name: 'P', entityType: 'ticket', trigger: { manual: true }, tasks: [{ key: 'wait', kind: 'delay', input: { ms: 1 } }] };

for (const dialect of DIALECTS) {
  describe(`run pinning and the storage endpoint on ${dialect}`, () => {
    let t: TestApp;
    let viewer: string;
    let operator: string;
    let runId: string;
    const key = async (role: string) => (await t.call('POST', '/api/v1/api-keys', { name: role, role })).json().key as string;

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 20 }, retention: { runsDays: 30, runsPerProcess: 0, eventsDays: 0, intervalMs: 60_000, chunk: 100 } });
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
      assert.equal((await t.call('PUT', '/api/v1/processes/p', PROCESS)).statusCode, 201);
      viewer = await key('viewer');
      operator = await key('operator');
      const id = (await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: 'a' } })).json().id as string;
      const res = await t.call('POST', `/api/v1/entities/ticket/${id}/process`, { process: 'p', wait: true });
      assert.equal(res.statusCode, 200, res.body);
      runId = res.json().run.id;
    });
    after(async () => {
      await t.close();
    });

    test('a run is unpinned at first; pin and unpin answer the run and change `pinned`, in lists too', async () => {
      assert.equal((await t.call('GET', `/api/v1/runs/${runId}`)).json().pinned, false);
      const pinned = await t.call('POST', `/api/v1/runs/${runId}/pin`, undefined, { key: operator });
      assert.equal(pinned.statusCode, 200, pinned.body);
      assert.equal(pinned.json().pinned, true);
      assert.equal(pinned.json().steps.length, 1);
      assert.equal((await t.call('GET', `/api/v1/runs?process=p`)).json().items[0].pinned, true);
      // Pinning twice is fine.
      assert.equal((await t.call('POST', `/api/v1/runs/${runId}/pin`)).json().pinned, true);
      const unpinned = await t.call('POST', `/api/v1/runs/${runId}/unpin`, undefined, { key: operator });
      assert.equal(unpinned.statusCode, 200);
      assert.equal(unpinned.json().pinned, false);
    });

    test('pin: viewers are refused, unknown runs are 404', async () => {
      const refused = await t.call('POST', `/api/v1/runs/${runId}/pin`, undefined, { key: viewer });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().error.code, 'FORBIDDEN');
      assert.equal((await t.call('GET', `/api/v1/runs/${runId}`)).json().pinned, false);
      for (const id of ['0000000000000000000000000z', 'not-an-id']) {
        const res = await t.call('POST', `/api/v1/runs/${id}/unpin`);
        assert.equal(res.statusCode, 404);
        assert.equal(res.json().error.code, 'RUN_NOT_FOUND');
      }
    });

    test('storage: admins only; sizes, the WAL bound, retention settings and the last prune', async () => {
      assert.equal((await t.call('GET', '/api/v1/admin/storage', undefined, { key: operator })).statusCode, 403);
      const first = (await t.call('GET', '/api/v1/admin/storage')).json();
      assert.equal(first.dialect, dialect);
      assert.ok(first.databaseBytes > 0);
      assert.deepEqual(first.retention, { runsDays: 30, runsPerProcess: 0, eventsDays: 0, intervalMs: 60_000, chunk: 100, running: true });
      assert.equal(first.lastPrune, null);
      if (dialect === 'sqlite') {
        assert.equal(first.autoVacuum, 'incremental');
        assert.equal(typeof first.walBytes, 'number');
        assert.equal(first.wal.limitBytes, 32 * 1024 * 1024);
      } else {
        assert.equal(first.wal, null);
        assert.ok(first.tables.runs > 0);
      }
      await t.pruner!.pruneNow();
      const second = (await t.call('GET', '/api/v1/admin/storage')).json();
      assert.equal(second.lastPrune.runs, 0);
      assert.equal(typeof second.lastPrune.durationMs, 'number');
      assert.ok(second.lastPrune.finishedAt >= second.lastPrune.startedAt);
    });
  });
}
