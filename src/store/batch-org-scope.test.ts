/**
 * Batches and their items are read and moved within their organization only: each function is given
 * organization A and a batch of organization B, and must neither return nor change anything of it.
 * On every database (Postgres with TEST_DATABASE_URL).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../domain/ids.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { insertOrganization } from './organizations.js';
import { deletePreparingBatch, getBatchForUpdate, insertBatch, moveCounters, rollRate, settleBatch, startBatch } from './batches.js';
import { cancelPendingItems, countItemsByStatus, insertItems, nextPendingItems, queueItems, resetFailedItems, skipItems } from './batch-items.js';

const now = Date.now();
const at = new Date(now).toISOString();
const GONE = { code: 'ENTITY_NOT_FOUND', message: 'gone', retryable: false };

for (const dialect of DIALECTS) {
  describe(`organization scope of batches on ${dialect}`, () => {
    let database: TestDatabase;
    const orgA = newId();
    const orgB = newId();
    /** B's running batch: items 0 and 1 pending, 2 failed. */
    const batch = newId();
    /** B's running batch with no item left to run (a settle would complete it). */
    const empty = newId();
    /** B's batch still being prepared. */
    const preparing = newId();

    const newBatch = (id: string) => insertBatch(database.db, { id, orgId: orgB, process: 'p', processVersion: 1, entityType: 'order', filter: {}, createdBy: { type: 'api_key', id: 'k' }, createdAt: at });
    const row = async (id: string) => (await getBatchForUpdate(database.db, orgB, id))!;
    const items = () => countItemsByStatus(database.db, orgB, batch);

    before(async () => {
      database = await openTestDatabase(dialect);
      for (const id of [orgA, orgB]) await insertOrganization(database.db, { id, name: id, createdAt: at });
      for (const id of [batch, empty, preparing]) await newBatch(id);
      await insertItems(database.db, batch, orgB, 0, [newId(), newId(), newId()]);
      await startBatch(database.db, orgB, batch, 3, now);
      await database.db.updateTable('batch_items').set({ status: 'failed' }).where('batch_id', '=', batch).where('seq', '=', 2).execute();
      await startBatch(database.db, orgB, empty, 0, now);
      await insertItems(database.db, preparing, orgB, 0, [newId()]);
    });
    after(() => database.drop());

    test('batches.ts getBatchForUpdate and batch-items.ts nextPendingItems, countItemsByStatus: nothing of another organization', async () => {
      assert.equal((await row(batch)).id, batch, 'the owner sees it');
      assert.equal(await getBatchForUpdate(database.db, orgA, batch), undefined);
      assert.equal((await nextPendingItems(database.db, orgB, batch, 10)).length, 2);
      assert.deepEqual(await nextPendingItems(database.db, orgA, batch, 10), []);
      assert.deepEqual(await countItemsByStatus(database.db, orgA, batch), {});
    });

    test('batch-items.ts skipItems, queueItems, cancelPendingItems, resetFailedItems: no item of another organization moves', async () => {
      assert.equal(await skipItems(database.db, orgA, batch, [0], GONE), 0);
      const run = { id: newId(), orgId: orgA, process: 'p', processVersion: 1, entityType: 'order', entityId: newId(), trigger: { type: 'batch' as const }, dedupeKey: null, causeRunId: null, chain: [], batchId: batch, availableAt: now, queuedAt: at };
      assert.equal(await queueItems(database.db, orgA, batch, [{ ...run, seq: 1, attempt: 1 }]), 0);
      assert.equal(await cancelPendingItems(database.db, orgA, batch), 0);
      assert.equal(await resetFailedItems(database.db, orgA, batch), 0);
      assert.deepEqual(await items(), { pending: 2, failed: 1 });
    });

    test('batches.ts moveCounters, rollRate, settleBatch: no counter or status of another organization moves', async () => {
      const before = await row(batch);
      await moveCounters(database.db, orgA, batch, { pending: -2, cancelled: 2 });
      await rollRate(database.db, orgA, batch, now + 1000, 5);
      const after = await row(batch);
      assert.deepEqual([after.pending, after.cancelled, after.rate], [before.pending, before.cancelled, before.rate]);
      await settleBatch(database.db, orgA, empty, at);
      assert.equal((await row(empty)).status, 'running');
      await settleBatch(database.db, orgB, empty, at);
      assert.equal((await row(empty)).status, 'completed', 'within its organization it settles');
    });

    test('batches.ts deletePreparingBatch: not another organization’s batch or items', async () => {
      await deletePreparingBatch(database.db, orgA, preparing);
      assert.equal((await row(preparing)).status, 'preparing');
      assert.deepEqual(await countItemsByStatus(database.db, orgB, preparing), { pending: 1 });
      await deletePreparingBatch(database.db, orgB, preparing);
      assert.equal(await getBatchForUpdate(database.db, orgB, preparing), undefined);
    });
  });
}
