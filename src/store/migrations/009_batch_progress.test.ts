/**
 * The batch progress trigger (migrations 007 and 009) on both databases: through every move a batch run
 * can make, the batch's counters equal its items counted, and the batch ends when its last item ends and
 * runs again when a run of it is retried by hand.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../domain/ids.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { insertOrganization } from '../organizations.js';
import { batchRunKey, countItemsByStatus, insertItems, queueItems } from '../batch-items.js';
import { getBatch, insertBatch, moveCounters, startBatch } from '../batches.js';
import type { RunStatus } from '../runs.js';

for (const dialect of DIALECTS) {
  describe(`batch progress trigger on ${dialect}`, () => {
    let database: TestDatabase;
    const orgId = newId();
    const batchId = newId();
    const entities = [newId(), newId(), newId(), newId()];
    const runIds = entities.map(() => newId());
    before(async () => {
      database = await openTestDatabase(dialect);
      const { db } = database;
      const now = Date.now();
      await insertOrganization(db, { id: orgId, name: 'A', createdAt: new Date(now).toISOString() });
      await insertBatch(db, { id: batchId, orgId, process: 'p', processVersion: 1, entityType: 't', filter: {}, createdBy: { type: 'user', id: 'u' }, createdAt: new Date(now).toISOString() });
      await insertItems(db, batchId, orgId, 0, entities);
      await startBatch(db, orgId, batchId, entities.length, now);
      const trigger = { type: 'batch' as const, batchId };
      const runs = entities.map((entityId, seq) => ({
        id: runIds[seq]!, orgId, process: 'p', processVersion: 1, entityType: 't', entityId, trigger, dedupeKey: batchRunKey(orgId, batchId, entityId, 1),
        causeRunId: null, chain: [], batchId, availableAt: now, queuedAt: new Date(now).toISOString(), seq, attempt: 1,
      }));
      await db.transaction().execute(async (trx) => {
        const queued = await queueItems(trx, orgId, batchId, runs);
        await moveCounters(trx, orgId, batchId, { pending: -queued, queued });
      });
    });
    after(() => database.drop());

    const move = (i: number, status: RunStatus) =>
      database.db.updateTable('runs').set({ status, ...(status === 'failed' ? { error: JSON.stringify({ code: 'X', message: 'x', retryable: false }) } : {}) }).where('id', '=', runIds[i]!).execute();
    const expect = async (batchStatus: string, counts: Record<string, number>) => {
      const b = (await getBatch(database.db, orgId, batchId))!;
      const counted = await countItemsByStatus(database.db, orgId, batchId);
      for (const s of ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const) {
        assert.equal(b[s], counted[s] ?? 0, `${s}: counter ${b[s]}, items ${counted[s] ?? 0}`);
        assert.equal(b[s], counts[s] ?? 0, `${s} of ${JSON.stringify(b)}`);
      }
      assert.equal(b.status, batchStatus);
      assert.equal(b.finishedAt !== null, batchStatus === 'completed', `finishedAt ${b.finishedAt}`);
    };

    test('every move keeps the counters equal to the items; the batch ends with its last item and reopens on a retry', async () => {
      await expect('running', { queued: 4 });
      await move(0, 'running');
      await move(1, 'running');
      await expect('running', { queued: 2, running: 2 });
      await move(1, 'waiting'); // a backoff: its item is still running
      await expect('running', { queued: 2, running: 2 });
      await move(0, 'succeeded');
      await move(2, 'cancelled'); // cancelled before it started
      await expect('running', { queued: 1, running: 1, succeeded: 1, cancelled: 1 });
      await move(1, 'running');
      await move(1, 'failed');
      await move(3, 'running');
      await move(3, 'queued'); // handed back by a stopping worker
      await expect('running', { queued: 1, succeeded: 1, failed: 1, cancelled: 1 });
      await move(3, 'running');
      await move(3, 'succeeded');
      await expect('completed', { succeeded: 2, failed: 1, cancelled: 1 });
      const failed = await database.db.selectFrom('batch_items').select('error').where('batch_id', '=', batchId).where('run_id', '=', runIds[1]!).executeTakeFirstOrThrow();
      assert.equal(JSON.parse(failed.error!).code, 'X', "a failed item keeps its run's error");
      await move(1, 'queued'); // retried by hand
      await expect('running', { queued: 1, succeeded: 2, cancelled: 1 });
      await move(1, 'running');
      await move(1, 'succeeded');
      await expect('completed', { succeeded: 3, cancelled: 1 });
    });
  });
}
