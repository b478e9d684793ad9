/** Store conformance: the same assertions on SQLite and (with TEST_DATABASE_URL) Postgres. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../src/domain/ids.js';
import { migrate } from '../src/store/migrate.js';
import { insertOrganization } from '../src/store/organizations.js';
import { deleteEntityType, getEntityType, getEntityTypeVersion, listEntityTypes, putEntityType } from '../src/store/entity-types.js';
import { countEvents, deleteEntity, getEntity, insertEvent, listEntities, listEvents, type EntityRecord } from '../src/store/entities.js';
import { writeSave, type RunPlanner } from '../src/store/saves.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from './support/databases.js';

for (const dialect of DIALECTS) {
  describe(`store on ${dialect}`, () => {
    let database: TestDatabase;
    const orgA = newId();
    const orgB = newId();
    const now = () => new Date().toISOString();

    before(async () => {
      database = await openTestDatabase(dialect);
      await insertOrganization(database.db, { id: orgA, name: 'A', createdAt: now() });
      await insertOrganization(database.db, { id: orgB, name: 'B', createdAt: now() });
    });
    after(() => database.drop());

    test('migrations are idempotent', async () => {
      assert.deepEqual(await migrate(database), []);
    });

    test('entity types: versioned, unchanged keeps version, scoped by org, delete continues history', async () => {
      const put = (org: string, def: string) => database.db.transaction().execute((trx) => putEntityType(trx, org, 'order', def, now()));
      const first = await put(orgA, '{"v":1}');
      assert.equal(first.created, true);
      assert.equal(first.stored.version, 1);
      const same = await put(orgA, '{"v":1}');
      assert.equal(same.changed, false);
      assert.equal(same.stored.version, 1);
      const second = await put(orgA, '{"v":2}');
      assert.equal(second.stored.version, 2);
      assert.equal(await getEntityTypeVersion(database.db, orgA, 'order'), 2);
      assert.equal(await getEntityType(database.db, orgB, 'order'), undefined);
      assert.deepEqual((await listEntityTypes(database.db, orgB)).length, 0);
      assert.equal(await database.db.transaction().execute((trx) => deleteEntityType(trx, orgA, 'order')), true);
      const again = await put(orgA, '{"v":3}');
      assert.equal(again.created, true);
      assert.equal(again.stored.version, 3);
    });

    test('entities: insert, conditional update, list by status newest first, org scoping, delete', async () => {
      const make = (status: string, n: number): EntityRecord => ({
        id: newId(),
        orgId: orgA,
        type: 'order',
        status,
        attributes: { n, text: 'zoë ☃ 𝄞' },
        version: 1,
        createdAt: now(),
        updatedAt: now(),
      });
      const noRuns: RunPlanner = { plan: () => [], checkFanOut: () => {} };
      /** The store's write of a save (saves.ts), with its event, starting no run. */
      const save = async (e: EntityRecord, expectedVersion?: number) => {
        const typeVersion = (await getEntityTypeVersion(database.db, e.orgId, e.type)) ?? -1;
        const event = { id: newId(), entityId: e.id, entityType: e.type, entityVersion: e.version, kind: 'updated' as const, statusBefore: null, statusAfter: e.status, statusPath: [e.status], changes: {}, actor: {}, createdAt: now() };
        return (await writeSave(database, { orgId: e.orgId, typeVersion, entity: e, expectedVersion, event, causeKey: null, entered: [] }, noRuns)).kind;
      };
      const rows = [make('new', 1), make('received', 2), make('new', 3), make('received', 4)];
      for (const r of rows) assert.equal(await save(r), 'written');
      const got = await getEntity(database.db, orgA, 'order', rows[0]!.id);
      assert.deepEqual(got?.attributes, { n: 1, text: 'zoë ☃ 𝄞' });
      assert.equal(await getEntity(database.db, orgB, 'order', rows[0]!.id), undefined);
      assert.equal(await getEntity(database.db, orgA, 'customer', rows[0]!.id), undefined);

      const received = await listEntities(database.db, { orgId: orgA, type: 'order', statuses: ['received'], limit: 10 });
      assert.deepEqual(received.map((e) => e.attributes.n), [4, 2]);
      const pageOne = await listEntities(database.db, { orgId: orgA, type: 'order', limit: 2 });
      const pageTwo = await listEntities(database.db, { orgId: orgA, type: 'order', limit: 2, beforeId: pageOne[1]!.id });
      assert.deepEqual([...pageOne, ...pageTwo].map((e) => e.attributes.n), [4, 3, 2, 1]);
      assert.equal((await listEntities(database.db, { orgId: orgB, type: 'order', limit: 10 })).length, 0);

      const updated = { ...rows[0]!, status: 'received', version: 2, attributes: { n: 10 } };
      assert.equal(await save(updated, 1), 'written');
      assert.equal(await save({ ...updated, version: 3 }, 1), 'entity_moved', 'stale version must not write');
      assert.equal(await save({ ...updated, orgId: orgB, version: 3 }, 2), 'type_moved', 'other org (no such type there) must not write');
      assert.equal((await getEntity(database.db, orgA, 'order', rows[0]!.id))?.version, 2);

      assert.equal(await deleteEntity(database.db, orgB, 'order', rows[1]!.id), undefined);
      assert.equal((await deleteEntity(database.db, orgA, 'order', rows[1]!.id))?.id, rows[1]!.id);
      assert.equal(await getEntity(database.db, orgA, 'order', rows[1]!.id), undefined);
    });

    test('events: appended, listed oldest first with paging, counted per org', async () => {
      const entityId = newId();
      for (let v = 1; v <= 3; v++) {
        await insertEvent(database.db, orgA, {
          id: newId(),
          entityId,
          entityType: 'order',
          entityVersion: v,
          kind: v === 1 ? 'created' : 'updated',
          statusBefore: v === 1 ? null : 'new',
          statusAfter: 'new',
          statusPath: ['new'],
          changes: { total: { from: v - 1, to: v } },
          actor: { type: 'api_key', id: 'k' },
          createdAt: now(),
        });
      }
      const first = await listEvents(database.db, orgA, entityId, undefined, 2);
      const rest = await listEvents(database.db, orgA, entityId, first[1]!.id, 2);
      assert.deepEqual([...first, ...rest].map((e) => e.entityVersion), [1, 2, 3]);
      assert.deepEqual(first[1]!.changes, { total: { from: 1, to: 2 } });
      assert.equal(await countEvents(database.db, orgA, entityId), 3);
      assert.equal(await countEvents(database.db, orgB, entityId), 0);
    });
  });
}
