/**
 * Retention on every database: old finished runs are pruned in chunks while saves queue runs and a
 * worker executes them; unfinished, pinned and recent runs stay; the count limit and event retention;
 * on SQLite the database gets smaller.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { idFloor } from '../../src/domain/ids.js';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/wait.js';
import { storageFigures, sqlitePages } from '../../src/store/retention.js';
import { Pruner, type RetentionSettings } from '../../src/engine/retention.js';
import { insertBatch, setBatchStatus } from '../../src/store/batches.js';

const TICKET = {
  name: 'Ticket',
  attributes: [{ key: 'title', type: 'string', required: true }],
  statuses: [
    { key: 'open', name: 'Open', initial: true },
    { key: 'done', name: 'Done' },
  ],
  transitions: [{ from: ['open'], to: 'done', auto: true }],
};
const PROCESS = { name: 'On done', entityType: 'ticket', trigger: { status: 'done' }, tasks: [{ key: 'wait', kind: 'delay', input: { ms: 1 } }] };

const DAY = 86_400_000;
const SETTINGS: RetentionSettings = { runsDays: 30, runsPerProcess: 0, eventsDays: 0, intervalMs: 60_000, chunk: 100 };

interface Seed {
  status: string;
  daysAgo: number;
  pinned?: boolean;
  process?: string;
  batch?: string;
}

/** Inserts runs as they would be after `daysAgo` days (queued then, finished a minute later), each with a step of ~2 KB. */
async function seed(t: TestApp, rows: Seed[]): Promise<string[]> {
  const { db, dialect } = t.services.database;
  const ids: string[] = [];
  const now = Date.now();
  for (let i = 0; i < rows.length; i += 200) {
    const part = rows.slice(i, i + 200).map((s, j) => {
      const queued = now - s.daysAgo * DAY + i + j;
      const id = idAt(queued);
      ids.push(id);
      const finished = ['succeeded', 'failed', 'cancelled'].includes(s.status) ? new Date(queued + 60_000).toISOString() : null;
      return { s, id, queued, finished };
    });
    await db
      .insertInto('runs')
      .values(
        part.map(({ s, id, queued, finished }) => ({
          id,
          org_id: t.defaultOrgId,
          process: s.process ?? 'on_done',
          process_version: 1,
          entity_type: 'ticket',
          entity_id: idAt(queued),
          status: s.status,
          trigger: '{"type":"manual"}',
          dedupe_key: null,
          cause_run_id: null,
          chain: '[]',
          attempt: 0,
          step_index: 1,
          // Unfinished ones wait far in the future (or are leased by a worker that is not this one).
          available_at: finished ? queued : now + 365 * DAY,
          lease_owner: s.status === 'running' ? 'elsewhere' : null,
          lease_expires_at: s.status === 'running' ? now + 365 * DAY : null,
          cancel_requested: dialect === 'sqlite' ? 0 : false,
          pinned: dialect === 'sqlite' ? Number(s.pinned ?? false) : (s.pinned ?? false),
          batch_id: s.batch ?? null,
          error: null,
          queued_at: new Date(queued).toISOString(),
          started_at: new Date(queued).toISOString(),
          finished_at: finished,
        })),
      )
      .execute();
    await db
      .insertInto('run_steps')
      .values(part.map(({ id, queued, finished }) => ({ run_id: id, org_id: t.defaultOrgId, idx: 0, task: 'wait', status: finished ? 'succeeded' : 'running', attempts: 1, input: '{}', output: JSON.stringify({ pad: 'x'.repeat(2000) }), error: null, started_at: new Date(queued).toISOString(), finished_at: finished })))
      .execute();
  }
  return ids;
}

/** An id made at `time` (newId never goes back in time within a process). */
const idAt = (time: number) => idFloor(time).slice(0, 10) + Array.from({ length: 16 }, () => '0123456789abcdefghjkmnpqrstvwxyz'[randomInt(32)]).join('');

const many = (n: number, s: Seed): Seed[] => Array.from({ length: n }, () => s);

for (const dialect of DIALECTS) {
  describe(`retention on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 20 } });
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
      assert.equal((await t.call('PUT', '/api/v1/processes/on_done', PROCESS)).statusCode, 201);
    });
    after(async () => {
      await t.close();
    });


    test('old finished runs go in chunks while saves queue runs and a worker runs them; unfinished, pinned and recent runs stay', async () => {
      const old = await seed(t, [
        ...many(400, { status: 'succeeded', daysAgo: 40 }),
        ...many(100, { status: 'failed', daysAgo: 35 }),
        ...many(100, { status: 'cancelled', daysAgo: 31 }),
      ]);
      const kept = await seed(t, [
        ...many(20, { status: 'succeeded', daysAgo: 40, pinned: true }),
        // Of another process: running ones would count against on_done's concurrency.
        ...many(10, { status: 'waiting', daysAgo: 40, process: 'ghost' }),
        ...many(10, { status: 'queued', daysAgo: 40, process: 'ghost' }),
        ...many(10, { status: 'running', daysAgo: 40, process: 'ghost' }),
        ...many(50, { status: 'succeeded', daysAgo: 29 }),
      ]);
      const pagesBefore = dialect === 'sqlite' ? await sqlitePages(t.services.database) : undefined;
      const pruner = new Pruner(t.services.database, SETTINGS, { pauseMs: 0 });
      // Saves and the runs they queue go on during the pass.
      let saving = true;
      const saved: string[] = [];
      const saves = (async () => {
        for (let i = 0; saving || i < 20; i++) {
          const res = await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: `t${i}` } });
          assert.equal(res.statusCode, 201, res.body);
          saved.push(...(res.json() as { queuedRuns: Array<{ id: string }> }).queuedRuns.map((r) => r.id));
        }
      })();
      const savedBefore = saved.length;
      const result = await pruner.pruneNow();
      const savedDuring = saved.length - savedBefore;
      saving = false;
      await saves;
      assert.ok(savedDuring > 0, 'saves went on during the pass');
      assert.equal(result.error, undefined);
      assert.equal(result.runs, old.length);
      assert.equal(result.steps, old.length);
      assert.ok(result.chunks >= old.length / SETTINGS.chunk, `${result.chunks} chunks`);
      const { db } = t.services.database;
      const left = await db.selectFrom('runs').select('id').where('id', 'in', [...old, ...kept]).execute();
      assert.deepEqual(left.map((r) => r.id).sort(), [...kept].sort());
      assert.equal((await db.selectFrom('run_steps').select('run_id').where('run_id', 'in', old).execute()).length, 0);
      // Every run the saves queued ran to the end, untouched.
      const succeeded = async () => (await db.selectFrom('runs').select('id').where('id', 'in', saved).where('status', '=', 'succeeded').execute()).length;
      await eventually(async () => (await succeeded()) === saved.length, 30_000, `the ${saved.length} runs of the saves to succeed`);
      assert.equal(pruner.last, result);
      if (pagesBefore) {
        // The steps' ~1.4 MB went back to the file system (incremental auto_vacuum of a new database).
        const after = await sqlitePages(t.services.database);
        assert.equal(pagesBefore.autoVacuum, 2);
        assert.ok(result.bytesFreed > 1_000_000, `${result.bytesFreed} bytes given back`);
        assert.ok(after.pageCount < pagesBefore.pageCount - 250, `${pagesBefore.pageCount} → ${after.pageCount} pages`);
        // (A page or two freed by the saves since.)
        assert.ok(after.freePages < 10, `${after.freePages} free pages`);
      }
      // A second pass finds nothing.
      const again = await pruner.pruneNow();
      assert.equal(again.runs, 0);
      await t.services.database.db.deleteFrom('run_steps').where('run_id', 'in', kept).execute();
      await t.services.database.db.deleteFrom('runs').where('id', 'in', kept).execute();
    });

    test('per process, finished runs beyond the newest N go; pinned ones stay; other processes are untouched', async () => {
      // Manual-only processes: no save starts their runs.
      for (const key of ['counted', 'other']) {
        const res = await t.call('PUT', `/api/v1/processes/${key}`, { name: key, entityType: 'ticket', trigger: { manual: true }, tasks: PROCESS.tasks });
        assert.equal(res.statusCode, 201, res.body);
      }
      const a = await seed(t, Array.from({ length: 30 }, (_, i) => ({ status: 'succeeded', daysAgo: 10 - i * 0.1, process: 'counted', pinned: i === 0 })));
      const b = await seed(t, many(12, { status: 'failed', daysAgo: 5, process: 'other' }));
      const unfinished = await seed(t, many(3, { status: 'waiting', daysAgo: 20, process: 'counted' }));
      const { db } = t.services.database;
      // on_done's runs from the test above (finished; how many depends on the pace of that test).
      const onDone = (await db.selectFrom('runs').select('id').where('process', '=', 'on_done').where('status', '=', 'succeeded').execute()).length;
      const pruner = new Pruner(t.services.database, { ...SETTINGS, runsDays: 0, runsPerProcess: 10, chunk: 7 }, { pauseMs: 0 });
      const result = await pruner.pruneNow();
      const left = new Set((await db.selectFrom('runs').select('id').where('id', 'in', [...a, ...b, ...unfinished]).execute()).map((r) => r.id));
      // The newest 10 of counted (seeded last), its pinned oldest, the unfinished; other: newest 10 of 12.
      for (const id of a.slice(20)) assert.ok(left.has(id));
      assert.ok(left.has(a[0]!), 'pinned');
      for (const id of a.slice(1, 20)) assert.ok(!left.has(id));
      for (const id of unfinished) assert.ok(left.has(id));
      assert.equal(b.filter((id) => left.has(id)).length, 10);
      assert.equal(result.runs, 19 + 2 + Math.max(0, onDone - 10));
    });

    test('runs of an unfinished batch stay whatever their age; those of a finished batch go', async () => {
      const { db } = t.services.database;
      const batch = (id: string) => ({ id, orgId: t.defaultOrgId, process: 'on_done', processVersion: 1, entityType: 'ticket', filter: {}, createdBy: { type: 'api_key', id: 'k' }, createdAt: new Date().toISOString() });
      const [live, paused, ended] = [idAt(Date.now() - 3), idAt(Date.now() - 2), idAt(Date.now() - 1)];
      for (const id of [live, paused, ended]) await insertBatch(db, batch(id));
      await setBatchStatus(db, t.defaultOrgId, live, ['preparing'], 'running');
      await setBatchStatus(db, t.defaultOrgId, paused, ['preparing'], 'paused');
      await setBatchStatus(db, t.defaultOrgId, ended, ['preparing'], 'completed');
      const kept = [...(await seed(t, many(5, { status: 'succeeded', daysAgo: 40, batch: live }))), ...(await seed(t, many(5, { status: 'failed', daysAgo: 40, batch: paused })))];
      const gone = await seed(t, many(5, { status: 'succeeded', daysAgo: 40, batch: ended }));
      await new Pruner(t.services.database, SETTINGS, { pauseMs: 0 }).pruneNow();
      const left = new Set((await db.selectFrom('runs').select('id').where('id', 'in', [...kept, ...gone]).execute()).map((r) => r.id));
      assert.deepEqual([kept.filter((id) => left.has(id)).length, gone.filter((id) => left.has(id)).length], [10, 0]);
    });

    test('events are kept by default; with a retention in days the old ones go', async () => {
      const { db } = t.services.database;
      const total = async () => Number((await db.selectFrom('entity_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      const before = await total();
      assert.ok(before > 0);
      const oldIds = Array.from({ length: 150 }, (_, i) => idAt(Date.now() - 100 * DAY + i));
      await db
        .insertInto('entity_events')
        .values(oldIds.map((id) => ({ id, org_id: t.defaultOrgId, entity_id: id, entity_type: 'ticket', entity_version: 1, kind: 'created', status_before: null, status_after: 'open', status_path: '[]', changes: '{}', actor: '{"type":"system"}', created_at: new Date(Date.now() - 100 * DAY).toISOString() })))
        .execute();
      const keep = await new Pruner(t.services.database, { ...SETTINGS, runsDays: 0 }, { pauseMs: 0 }).pruneNow();
      assert.equal(keep.events, 0);
      assert.equal(await total(), before + 150);
      const pruned = await new Pruner(t.services.database, { ...SETTINGS, runsDays: 0, eventsDays: 90, chunk: 40 }, { pauseMs: 0 }).pruneNow();
      assert.equal(pruned.events, 150);
      assert.equal(await total(), before);
    });

    test('storage figures', async () => {
      const f = await storageFigures(t.services.database);
      assert.equal(f.dialect, dialect);
      assert.ok(f.databaseBytes > 0);
      if (dialect === 'sqlite') assert.equal(f.autoVacuum, 'incremental');
      else assert.ok(f.tables!.runs! > 0);
    });
  });
}
