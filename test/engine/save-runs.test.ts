/**
 * Transactional triggering: a save that commits has exactly the runs its response lists, and a refused
 * save has none — also while the process it triggers is being enabled and disabled concurrently. (On
 * Postgres this covers both ways a save is written: one statement alone when no process starts, a
 * transaction when one does.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';

const TICKET = {
  name: 'Ticket',
  attributes: [
    { key: 'title', type: 'string', required: true },
    { key: 'ready', type: 'boolean', default: false },
  ],
  statuses: [
    { key: 'open', name: 'Open', initial: true },
    { key: 'ready', name: 'Ready' },
  ],
  requirements: [
    { key: 'is_ready', condition: 'ready = true', message: 'not ready' },
    { key: 'title_ok', condition: "title != 'bad'", message: 'bad title', enforce: true },
  ],
  transitions: [{ from: ['open'], to: 'ready', when: ['is_ready'], auto: true }],
};

const processBody = (enabled: boolean) => ({
  name: 'On ready',
  entityType: 'ticket',
  trigger: { status: 'ready' },
  enabled,
  tasks: [{ key: 'wait', kind: 'delay', input: { ms: 1 } }],
});

for (const dialect of DIALECTS) {
  describe(`runs queued by saves on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(dialect); // no worker: runs stay queued where the saves put them
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
    });
    after(async () => {
      await t.close();
    });

    test('every committed save has exactly the runs it lists, while the process is switched on and off', async () => {
      let saving = true;
      let toggles = 0;
      const toggler = (async () => {
        while (saving) {
          const res = await t.call('PUT', '/api/v1/processes/on_ready', processBody(toggles % 2 === 0));
          assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
          toggles++;
        }
      })();

      /** entity id → run ids its saves listed */
      const listed = new Map<string, string[]>();
      let entering = 0;
      let enteredWithRun = 0;
      let refused = 0;
      const one = async (i: number) => {
        const kind = i % 4; // 0: enters ready on create; 1: enters it on a later PATCH; 2: never; 3: refused
        const res = await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: kind === 3 ? 'bad' : `T${i}`, ready: kind === 0 } });
        if (kind === 3) {
          assert.equal(res.statusCode, 422, res.body);
          refused++;
          return;
        }
        assert.equal(res.statusCode, 201, res.body);
        const created = res.json();
        const runs: string[] = created.queuedRuns.map((r: { id: string }) => r.id);
        if (kind === 0) {
          entering++;
          if (runs.length > 0) enteredWithRun++;
        } else assert.deepEqual(runs, [], 'a save that enters no triggering status queues nothing');
        if (kind === 1) {
          const patched = await t.call('PATCH', `/api/v1/entities/ticket/${created.id}`, { attributes: { ready: true } });
          assert.equal(patched.statusCode, 200, patched.body);
          assert.equal(patched.json().status, 'ready');
          entering++;
          const more = patched.json().queuedRuns.map((r: { id: string }) => r.id);
          if (more.length > 0) enteredWithRun++;
          runs.push(...more);
        }
        listed.set(created.id, runs);
      };
      const queue = Array.from({ length: 240 }, (_, i) => i);
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) await one(i);
        }),
      );
      saving = false;
      await toggler;

      const rows = await t.services.database.db.selectFrom('runs').select(['id', 'entity_id', 'process']).where('org_id', '=', t.defaultOrgId).execute();
      const stored = new Map<string, string[]>();
      for (const r of rows) stored.set(r.entity_id, [...(stored.get(r.entity_id) ?? []), r.id].sort());
      for (const [entityId, runs] of listed) assert.deepEqual(stored.get(entityId) ?? [], [...runs].sort(), `the runs of ${entityId}`);
      assert.deepEqual([...stored.keys()].filter((id) => !listed.has(id)), [], 'no run belongs to a save that was refused');
      assert.equal(refused, 60);
      assert.ok(toggles >= 4, `the process was switched ${toggles} times during the saves`);
      assert.ok(enteredWithRun > 0 && enteredWithRun < entering, `some saves found the process on and some off (${enteredWithRun} of ${entering} queued a run)`);
    });

    test('switched on, off and on again: each save that enters the status queues a run exactly while it is on', async () => {
      for (const enabled of [true, true, false, false, true, false, true]) {
        assert.ok([200, 201].includes((await t.call('PUT', '/api/v1/processes/on_ready', processBody(enabled))).statusCode));
        const created = (await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: 'x', ready: true } })).json();
        assert.equal(created.queuedRuns.length, enabled ? 1 : 0, `process ${enabled ? 'on' : 'off'}: create`);
        const later = (await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: 'y' } })).json();
        const patched = (await t.call('PATCH', `/api/v1/entities/ticket/${later.id}`, { attributes: { ready: true } })).json();
        assert.equal(patched.queuedRuns.length, enabled ? 1 : 0, `process ${enabled ? 'on' : 'off'}: update`);
        const stored = await t.services.database.db.selectFrom('runs').select('id').where('entity_id', 'in', [created.id, later.id]).execute();
        assert.equal(stored.length, enabled ? 2 : 0);
      }
    });
  });
}
