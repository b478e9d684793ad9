/**
 * The write of a save in its two forms held to each other (store/ARCHITECTURE.md): on SQLite the
 * statements built with Kysely (saves.ts), on Postgres the single raw statement (save-statement.ts).
 * The same fixture of saves runs through writeSave on every database and must leave the same rows and
 * give the same outcomes — one expected table for both.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../src/domain/ids.js';
import type { ProcessDefinition } from '../src/domain/process.js';
import { migrate } from '../src/store/migrate.js';
import { insertOrganization } from '../src/store/organizations.js';
import { getEntityTypeVersion, putEntityType } from '../src/store/entity-types.js';
import { countEvents, type EntityEvent, type EntityRecord } from '../src/store/entities.js';
import { putProcess } from '../src/store/processes.js';
import type { NewRun } from '../src/store/runs.js';
import { writeSave, type RunPlanner, type SaveWrite } from '../src/store/saves.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from './support/databases.js';

for (const kind of DIALECTS) {
  describe(`the write of a save on ${kind}`, () => {
    let database: TestDatabase;
    const org = newId();
    const now = () => new Date().toISOString();
    let typeVersion = 0;

    before(async () => {
      database = await openTestDatabase(kind);
      await migrate(database);
      await insertOrganization(database.db, { id: org, name: 'A', createdAt: now() });
      await database.db.transaction().execute((trx) => putEntityType(trx, org, 'order', '{"statuses":["new","received"]}', now()));
      typeVersion = (await getEntityTypeVersion(database.db, org, 'order'))!;
      const definition = { entityType: 'order', trigger: { status: 'received' }, enabled: true, tasks: [] } as unknown as ProcessDefinition;
      await database.db.transaction().execute((trx) => putProcess(trx, org, 'notify', definition, now()));
    });
    after(() => database.drop());

    /** Plans one run per triggered process, or refuses with `refuse`. */
    const planner = (entity: EntityRecord, eventId: string, refuse?: string): RunPlanner => ({
      plan: (triggered) => {
        if (refuse) throw new Error(refuse);
        return triggered.map(
          (p): NewRun => ({
            id: newId(), orgId: org, process: p.key, processVersion: p.version, entityType: entity.type, entityId: entity.id,
            trigger: { type: 'status', status: p.triggerStatus }, dedupeKey: `${org}:${p.key}:${eventId}:${p.triggerStatus}`,
            causeRunId: null, chain: [], batchId: null, availableAt: Date.now(), queuedAt: now(),
          }),
        );
      },
      checkFanOut: () => {},
    });

    const save = async (entity: EntityRecord, o: { expected?: number; entered: string[]; causeKey?: string; typeVersion?: number; refuse?: string }) => {
      const event: EntityEvent = {
        id: newId(), entityId: entity.id, entityType: entity.type, entityVersion: entity.version, kind: o.expected === undefined ? 'created' : 'updated',
        statusBefore: null, statusAfter: entity.status, statusPath: [entity.status], changes: {}, actor: { type: 'api_key', id: 'k' }, createdAt: now(),
      };
      const w: SaveWrite = { orgId: org, typeVersion: o.typeVersion ?? typeVersion, entity, expectedVersion: o.expected, event, causeKey: o.causeKey ?? null, entered: o.entered };
      try {
        const outcome = await writeSave(database, w, planner(entity, event.id, o.refuse));
        return outcome.kind === 'written' ? `written, ${outcome.queued.map((r) => r.process).join('+') || 'no runs'}` : outcome.kind;
      } catch (err) {
        return `threw ${(err as Error).message}`;
      }
    };
    const entity = (id: string, status: string, version: number): EntityRecord => ({ id, orgId: org, type: 'order', status, attributes: { n: version }, version, createdAt: now(), updatedAt: now() });

    test('the same outcomes and the same rows', async () => {
      const [a, b, c, d] = [newId(), newId(), newId(), newId()];
      const outcomes = [
        await save(entity(a, 'new', 1), { entered: ['new'] }),
        await save(entity(a, 'received', 2), { expected: 1, entered: ['received'] }),
        await save(entity(a, 'new', 3), { expected: 1, entered: ['new'] }),
        await save(entity(b, 'received', 1), { entered: ['new', 'received'], typeVersion: typeVersion + 1 }),
        await save(entity(b, 'received', 1), { entered: ['new', 'received'], causeKey: 'run1:task' }),
        await save(entity(c, 'new', 1), { entered: ['new'], causeKey: 'run1:task' }),
        await save(entity(d, 'received', 1), { entered: ['received'], refuse: 'loop' }),
        await save(entity(d, 'received', 1), { entered: ['received'] }),
        await save(entity(d, 'received', 2), { expected: 1, entered: [] }),
      ];
      assert.deepEqual(outcomes, [
        'written, no runs',
        'written, notify',
        'entity_moved',
        'type_moved',
        'written, notify',
        'cause_repeated',
        'threw loop',
        'written, notify',
        'written, no runs',
      ]);
      const rows = await database.db.selectFrom('entities').select(['id', 'status', 'version']).where('org_id', '=', org).orderBy('id').execute();
      assert.deepEqual(
        rows.map((r) => [r.id, r.status, Number(r.version)]),
        [[a, 'received', 2], [b, 'received', 1], [d, 'received', 2]].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      );
      assert.equal(await countEvents(database.db, org), 5, 'one event per written save');
      const runs = await database.db.selectFrom('runs').select(['entity_id', 'process', 'status']).where('org_id', '=', org).orderBy('entity_id').execute();
      assert.deepEqual(runs.map((r) => [r.entity_id, r.process, r.status]), [[a, 'notify', 'queued'], [b, 'notify', 'queued'], [d, 'notify', 'queued']].sort((x, y) => x[0]!.localeCompare(y[0]!)));
    });
  });
}
