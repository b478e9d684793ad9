/** /api/v1/processes: versioning, every definition error, roles, org isolation and run counts, on each database. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ORDER_TYPE } from '../support/order.js';
import { findTriggeredProcesses, getProcessVersion } from '../../src/store/processes.js';
import { adapterOf } from '../../src/store/dialect.js';

const PROCESS = {
  name: 'Notify and mark',
  entityType: 'order',
  trigger: { status: 'received' },
  tasks: [
    { key: 'notify', kind: 'http.request', input: { method: 'POST', url: "'http://127.0.0.1:9/x'", body: "{ 'n': order_number }" } },
    { key: 'mark', kind: 'entity.update', input: { attributes: "{ 'lines': tasks.notify.output.body }" } },
  ],
};
type Def = Record<string, unknown> & { tasks: Array<Record<string, unknown> & { input: Record<string, unknown> }>; settings?: unknown };
const def = (): Def => structuredClone(PROCESS) as Def;

for (const dialect of DIALECTS) {
  describe(`processes API on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(dialect);
      assert.equal((await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE)).statusCode, 201);
    });
    after(() => t.close());

    test('PUT creates (201) with defaults, repeats idempotently (200, same version), a change is version 2', async () => {
      const created = await t.call('PUT', '/api/v1/processes/notify', PROCESS);
      assert.equal(created.statusCode, 201, created.body);
      const body = created.json();
      assert.equal(body.key, 'notify');
      assert.equal(body.version, 1);
      assert.equal(body.enabled, true, 'enabled defaults to true');
      assert.deepEqual(body.settings, { retry: { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 60000 }, timeoutMs: 30000, concurrency: 100 });
      assert.deepEqual(body.tasks.map((x: { key: string }) => x.key), ['notify', 'mark']);
      assert.equal(body.warnings, undefined);
      assert.ok(body.createdAt && body.updatedAt);

      const again = await t.call('PUT', '/api/v1/processes/notify', PROCESS);
      assert.equal(again.statusCode, 200);
      assert.equal(again.json().version, 1);

      const changed = def();
      changed.name = 'Notify, then mark';
      const replaced = await t.call('PUT', '/api/v1/processes/notify', changed);
      assert.equal(replaced.statusCode, 200);
      assert.equal(replaced.json().version, 2);
      assert.equal(replaced.json().createdAt, body.createdAt);

      const versions = (await t.call('GET', '/api/v1/processes/notify/versions')).json();
      assert.deepEqual(versions.items.map((v: { version: number; name: string }) => [v.version, v.name]), [[2, 'Notify, then mark'], [1, 'Notify and mark']]);
      assert.equal(versions.items[1].tasks.length, 2);
      assert.ok(versions.items[0].createdAt);
      assert.equal(versions.nextCursor, null);
      const first = (await t.call('GET', '/api/v1/processes/notify/versions?limit=1')).json();
      assert.deepEqual(first.items.map((v: { version: number }) => v.version), [2]);
      const rest = (await t.call('GET', `/api/v1/processes/notify/versions?limit=1&cursor=${first.nextCursor}`)).json();
      assert.deepEqual(rest.items.map((v: { version: number }) => v.version), [1]);
      assert.equal(rest.nextCursor, null);
    });

    test('a manual trigger, enabled: false, and another entity type are stored; only enabled status triggers are found', async () => {
      await t.call('PUT', '/api/v1/entity-types/customer', { name: 'Customer', attributes: [{ key: 'email', type: 'string' }], statuses: [{ key: 'active', name: 'Active', initial: true }] });
      const manual = await t.call('PUT', '/api/v1/processes/by_hand', { ...def(), trigger: { manual: true } });
      assert.equal(manual.statusCode, 201, manual.body);
      assert.deepEqual(manual.json().trigger, { manual: true });
      const off = await t.call('PUT', '/api/v1/processes/switched_off', { ...def(), enabled: false });
      assert.equal(off.json().enabled, false);
      await t.call('PUT', '/api/v1/processes/approve', { ...def(), trigger: { status: 'approved' } });

      const { db } = t.services.database;
      const found = await findTriggeredProcesses(db, t.defaultOrgId, 'order', ['received', 'approved']);
      assert.deepEqual(found, [
        { key: 'approve', version: 1, triggerStatus: 'approved' },
        { key: 'notify', version: 2, triggerStatus: 'received' },
      ]);
      assert.deepEqual(await findTriggeredProcesses(db, t.defaultOrgId, 'order', []), []);
      assert.deepEqual(await findTriggeredProcesses(db, t.defaultOrgId, 'customer', ['received']), []);

      // Moving a process to another entity type is a new version; the trigger follows.
      const moved = await t.call('PUT', '/api/v1/processes/approve', { ...def(), entityType: 'customer', trigger: { status: 'active' }, tasks: [def().tasks[0]] });
      assert.equal(moved.statusCode, 200, moved.body);
      assert.equal(moved.json().version, 2);
      assert.deepEqual(await findTriggeredProcesses(db, t.defaultOrgId, 'customer', ['active']), [{ key: 'approve', version: 2, triggerStatus: 'active' }]);
      assert.deepEqual((await findTriggeredProcesses(db, t.defaultOrgId, 'order', ['approved'])).length, 0);

      const on = await t.call('PUT', '/api/v1/processes/switched_off', { ...def(), enabled: true });
      assert.equal(on.json().version, 2);
      assert.ok((await findTriggeredProcesses(db, t.defaultOrgId, 'order', ['received'])).some((p) => p.key === 'switched_off'));
      for (const key of ['by_hand', 'switched_off', 'approve']) assert.equal((await t.call('DELETE', `/api/v1/processes/${key}`)).statusCode, 204);
    });

    const refusals: Array<[string, (d: Def) => unknown, string, string, string]> = [
      ['an unknown entity type', (d) => (d.entityType = 'invoice'), 'PROCESS_INVALID', 'entityType', 'unknown_entity_type'],
      ['a trigger status the type lacks', (d) => (d.trigger = { status: 'shipped' }), 'PROCESS_INVALID', 'trigger.status', 'unknown_status'],
      ['an unknown task kind', (d) => (d.tasks[0]!.kind = 'ftp.upload'), 'PROCESS_INVALID', 'tasks[0].kind', 'unknown_task_kind'],
      ['duplicate task keys', (d) => (d.tasks[1]!.key = 'notify'), 'PROCESS_INVALID', 'tasks[1].key', 'duplicate'],
      ['a reference to a later task', (d) => (d.tasks[0]!.input.body = 'tasks.mark.output'), 'PROCESS_INVALID', 'tasks[0].input.body', 'unknown_task_reference'],
      ['a reference to an unknown task', (d) => (d.tasks[1]!.input.attributes = "{ 'lines': tasks.deal.output.id }"), 'PROCESS_INVALID', 'tasks[1].input.attributes', 'unknown_task_reference'],
      ['an unknown property (typo)', (d) => (d.enabeld = true), 'PROCESS_INVALID', 'enabeld', 'unknown'],
      ['an unknown task property', (d) => (d.tasks[0]!.inputs = {}), 'PROCESS_INVALID', 'tasks[0].inputs', 'unknown'],
      ['a task input the kind does not accept', (d) => delete d.tasks[0]!.input.url, 'PROCESS_INVALID', 'tasks[0].input.url', 'required'],
      ['a connection on a kind without one', (d) => (d.tasks[1]!.connection = 'hubspot_main'), 'PROCESS_INVALID', 'tasks[1].connection', 'connection_not_allowed'],
      ['an unknown connection', (d) => (d.tasks[0]!.connection = 'nowhere'), 'PROCESS_INVALID', 'tasks[0].connection', 'unknown_connection'],
      ['timeoutMs out of range', (d) => (d.settings = { timeoutMs: 5 }), 'PROCESS_INVALID', 'settings.timeoutMs', 'too_small'],
      ['concurrency out of range', (d) => (d.settings = { concurrency: 100_000 }), 'PROCESS_INVALID', 'settings.concurrency', 'too_large'],
      ['maxAttempts out of range', (d) => (d.settings = { retry: { maxAttempts: 0 } }), 'PROCESS_INVALID', 'settings.retry.maxAttempts', 'too_small'],
      ['maxDelayMs below initialDelayMs', (d) => (d.settings = { retry: { initialDelayMs: 5000, maxDelayMs: 1000 } }), 'PROCESS_INVALID', 'settings.retry.maxDelayMs', 'too_small'],
      ['no tasks', (d) => (d.tasks = []), 'PROCESS_INVALID', 'tasks', 'too_small'],
      ['a bad task key', (d) => (d.tasks[0]!.key = 'Notify'), 'PROCESS_INVALID', 'tasks[0].key', 'invalid_key'],
      ['a bad when condition', (d) => (d.tasks[0]!.when = 'total >'), 'EXPRESSION_INVALID', 'tasks[0].when', ''],
      ['$eval in an input', (d) => (d.tasks[0]!.input.url = '$eval("1")'), 'EXPRESSION_INVALID', 'tasks[0].input.url', ''],
    ];
    for (const [name, mutate, code, path, subCode] of refusals) {
      test(`PUT refuses ${name} with ${code} at ${path}, and stores nothing`, async () => {
        const d = def();
        mutate(d);
        const res = await t.call('PUT', '/api/v1/processes/bad', d);
        assert.equal(res.statusCode, 400, res.body);
        const err = res.json().error;
        assert.equal(err.code, code);
        assert.ok(err.message.length > 10);
        const issue = err.details.fields.find((f: { path: string }) => f.path === path);
        assert.ok(issue, `expected an issue at ${path}: ${JSON.stringify(err.details.fields)}`);
        if (subCode) assert.equal(issue.code, subCode, JSON.stringify(issue));
        assert.equal((await t.call('GET', '/api/v1/processes/bad')).statusCode, 404);
      });
    }

    test('a bad expression in an input field → 400 EXPRESSION_INVALID with path, line and column', async () => {
      const d = def();
      d.tasks[0]!.input.body = "{ 'n': order_number,\n  'm': }";
      const res = await t.call('PUT', '/api/v1/processes/bad', d);
      assert.equal(res.statusCode, 400);
      const err = res.json().error;
      assert.equal(err.code, 'EXPRESSION_INVALID');
      assert.equal(err.details.fields.length, 1, JSON.stringify(err.details.fields));
      const [issue] = err.details.fields;
      assert.equal(issue.path, 'tasks[0].input.body');
      assert.equal(issue.line, 2);
      assert.equal(typeof issue.column, 'number');
      assert.equal(typeof issue.caret, 'string');
    });

    test('an unknown attribute in an expression is a warning, not an error', async () => {
      const d = def();
      d.tasks[0]!.input.body = "{ 'n': order_numbr }";
      const res = await t.call('PUT', '/api/v1/processes/warned', d);
      assert.equal(res.statusCode, 201, res.body);
      assert.ok(res.json().warnings.some((w: { path: string; message: string }) => w.path === 'tasks[0].input.body' && /order_numbr/.test(w.message)), res.body);
      assert.equal((await t.call('DELETE', '/api/v1/processes/warned')).statusCode, 204);
    });

    test('keys: an invalid key in the path → 400 INVALID_KEY on PUT, 404 on GET; unknown → 404 PROCESS_NOT_FOUND', async () => {
      const res = await t.call('PUT', '/api/v1/processes/Notify', PROCESS);
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.code, 'INVALID_KEY');
      assert.equal((await t.call('GET', '/api/v1/processes/Notify')).statusCode, 404);
      for (const [method, url] of [['GET', '/api/v1/processes/nope'], ['GET', '/api/v1/processes/nope/versions'], ['DELETE', '/api/v1/processes/nope']] as const) {
        const missing = await t.call(method, url);
        assert.equal(missing.statusCode, 404, url);
        assert.equal(missing.json().error.code, 'PROCESS_NOT_FOUND');
      }
      assert.equal((await t.call('GET', '/api/v1/processes/notify/versions?cursor=djE6eA')).json().error.code, 'INVALID_CURSOR');
    });

    test('roles: viewers and operators read but cannot PUT or DELETE; editors can', async () => {
      const keyOf = async (role: string) => (await t.call('POST', '/api/v1/api-keys', { name: role, role })).json().key as string;
      const [viewer, operator, editor] = [await keyOf('viewer'), await keyOf('operator'), await keyOf('editor')];
      for (const key of [viewer, operator]) {
        const put = await t.call('PUT', '/api/v1/processes/notify', PROCESS, { key });
        assert.equal(put.statusCode, 403);
        assert.equal(put.json().error.code, 'FORBIDDEN');
        assert.equal((await t.call('DELETE', '/api/v1/processes/notify', undefined, { key })).statusCode, 403);
        assert.equal((await t.call('GET', '/api/v1/processes/notify', undefined, { key })).statusCode, 200);
        assert.equal((await t.call('GET', '/api/v1/processes', undefined, { key })).statusCode, 200);
      }
      assert.equal((await t.call('GET', '/api/v1/processes', undefined, { key: null })).statusCode, 401);
      const byEditor = await t.call('PUT', '/api/v1/processes/by_editor', PROCESS, { key: editor });
      assert.equal(byEditor.statusCode, 201, byEditor.body);
      assert.equal((await t.call('DELETE', '/api/v1/processes/by_editor', undefined, { key: editor })).statusCode, 204);
    });

    test('organizations are isolated', async () => {
      const org = await t.call('POST', '/api/v1/organizations', { name: 'Other' });
      assert.equal(org.statusCode, 201, org.body);
      const other = org.json().apiKey.key as string;
      assert.equal((await t.call('GET', '/api/v1/processes/notify', undefined, { key: other })).statusCode, 404);
      assert.deepEqual((await t.call('GET', '/api/v1/processes', undefined, { key: other })).json().items, []);
      assert.equal((await t.call('GET', '/api/v1/processes/notify/versions', undefined, { key: other })).statusCode, 404);
      assert.equal((await t.call('DELETE', '/api/v1/processes/notify', undefined, { key: other })).statusCode, 404);
      // The other org's processes need its own entity type.
      const noType = await t.call('PUT', '/api/v1/processes/notify', PROCESS, { key: other });
      assert.equal(noType.statusCode, 400);
      assert.equal(noType.json().error.details.fields[0].code, 'unknown_entity_type');
      await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE, { key: other });
      const own = await t.call('PUT', '/api/v1/processes/notify', PROCESS, { key: other });
      assert.equal(own.statusCode, 201);
      assert.equal(own.json().version, 1);
      assert.equal((await t.call('GET', '/api/v1/processes/notify')).json().version, 2, 'the default org is untouched');
    });

    test('lists are ordered by key and paged, with run counts by status', async () => {
      await t.call('PUT', '/api/v1/processes/archive', { ...def(), trigger: { status: 'approved' } });
      const { db } = t.services.database;
      const run = (id: string, orgId: string, process: string, status: string) => ({
        id, org_id: orgId, process, process_version: 1, entity_type: 'order', entity_id: 'e1', status,
        trigger: '{"type":"manual"}', dedupe_key: null, cause_run_id: null, chain: '[]', attempt: 0, step_index: 0,
        available_at: 0, lease_owner: null, lease_expires_at: null, cancel_requested: adapterOf(db).bool(false),
        batch_id: null, error: null, queued_at: new Date().toISOString(), started_at: null, finished_at: null,
      });
      await db.insertInto('runs').values([
        run('r1', t.defaultOrgId, 'notify', 'queued'),
        run('r2', t.defaultOrgId, 'notify', 'queued'),
        run('r3', t.defaultOrgId, 'notify', 'failed'),
        run('r4', 'another_org', 'notify', 'succeeded'),
      ]).execute();
      const list = (await t.call('GET', '/api/v1/processes')).json();
      assert.deepEqual(list.items.map((p: { key: string }) => p.key), ['archive', 'notify']);
      assert.equal(list.nextCursor, null);
      assert.deepEqual(list.items[0].runs, { queued: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, cancelled: 0 });
      assert.deepEqual(list.items[1].runs, { queued: 2, running: 0, waiting: 0, succeeded: 0, failed: 1, cancelled: 0 });
      assert.deepEqual((await t.call('GET', '/api/v1/processes/notify')).json().runs.queued, 2);
      const paged = (await t.call('GET', '/api/v1/processes?limit=1')).json();
      assert.deepEqual(paged.items.map((p: { key: string }) => p.key), ['archive']);
      const rest = (await t.call('GET', `/api/v1/processes?limit=1&cursor=${paged.nextCursor}`)).json();
      assert.deepEqual(rest.items.map((p: { key: string }) => p.key), ['notify']);
      assert.equal(rest.nextCursor, null);
      assert.equal((await t.call('DELETE', '/api/v1/processes/archive')).statusCode, 204);
      await db.deleteFrom('runs').execute();
    });

    test('an entity type used by a process cannot be deleted (409 ENTITY_TYPE_IN_USE)', async () => {
      const res = await t.call('DELETE', '/api/v1/entity-types/order');
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().error.code, 'ENTITY_TYPE_IN_USE');
      assert.match(res.json().error.message, /notify/);
      assert.deepEqual(res.json().error.details.processes, ['notify']);
      assert.equal((await t.call('GET', '/api/v1/entity-types/order')).statusCode, 200);
    });

    test('DELETE → 204, then 404 PROCESS_NOT_FOUND; versions stay for runs; created again, versions continue', async () => {
      assert.equal((await t.call('DELETE', '/api/v1/processes/notify')).statusCode, 204);
      const gone = await t.call('GET', '/api/v1/processes/notify');
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.json().error.code, 'PROCESS_NOT_FOUND');
      assert.equal((await t.call('DELETE', '/api/v1/processes/notify')).statusCode, 404);
      assert.deepEqual((await findTriggeredProcesses(t.services.database.db, t.defaultOrgId, 'order', ['received'])).length, 0);
      const pinned = await getProcessVersion(t.services.database.db, t.defaultOrgId, 'notify', 1);
      assert.equal(pinned?.definition.name, 'Notify and mark');
      const again = await t.call('PUT', '/api/v1/processes/notify', PROCESS);
      assert.equal(again.statusCode, 201);
      assert.equal(again.json().version, 3);
      assert.equal((await t.call('DELETE', '/api/v1/processes/notify')).statusCode, 204);
      assert.equal((await t.call('DELETE', '/api/v1/entity-types/order')).statusCode, 204, 'no process uses the type any more');
    });

    test('the routes are in the OpenAPI document', async () => {
      const doc = (await t.call('GET', '/api/v1/openapi.json', undefined, { key: null })).json();
      assert.deepEqual(Object.keys(doc.paths['/api/v1/processes/{key}']).sort(), ['delete', 'get', 'put']);
      assert.ok(doc.paths['/api/v1/processes'].get);
      assert.ok(doc.paths['/api/v1/processes/{key}/versions'].get);
    });
  });
}
