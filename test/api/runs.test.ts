/** Runs over the API: list, detail, retry, cancel, ad hoc processing (queued, waited for, dry run), isolation, roles. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { ADMIN_KEY, startTestApp, type TestApp } from '../support/app.js';
import { startHoldingServer, startTarget, type HoldingServer, type Target } from '../support/target.js';
import { claimRoundsPassed, eventually, runInState } from '../support/wait.js';
import { buildApp } from '../../src/api/app.js';

const TICKET = {
  name: 'Ticket',
  attributes: [{ key: 'title', type: 'string', required: true }, { key: 'n', type: 'integer' }],
  statuses: [{ key: 'open', name: 'Open', initial: true }],
};
const fast = { retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 } };
const manual = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({ name: 'P', entityType: 'ticket', trigger: { manual: true }, settings: fast, tasks, ...extra });
const http = (key: string, url: string, extra: Record<string, unknown> = {}) => ({ key, kind: 'http.request', input: { method: 'POST', url: `'${url}'`, body: "{ 'title': title }" }, ...extra });

for (const dialect of DIALECTS) {
  describe(`runs API on ${dialect}`, () => {
    let t: TestApp;
    let target: Target;
    let slow: HoldingServer;
    let n = 0;
    const ticket = async () => (await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: `T${++n}`, n } })).json().id as string;
    const process = (id: string, body: Record<string, unknown>, key?: string) => t.call('POST', `/api/v1/entities/ticket/${id}/process`, body, { key });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const finished = (id: string) => runInState<any>(t, id);
    const hits = (path: string) => target.hits.filter((h) => h.path === path).length;
    const countRuns = async () => Number((await t.services.database.db.selectFrom('runs').select((eb) => eb.fn.countAll().as('c')).executeTakeFirstOrThrow()).c);
    const expectError = (res: { statusCode: number; json(): { error: { code: string } } }, status: number, code: string) => {
      assert.equal(res.statusCode, status, JSON.stringify(res.json()));
      assert.equal(res.json().error.code, code);
    };

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 50 } });
      target = await startTarget();
      slow = await startHoldingServer();
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
      assert.equal((await t.call('PUT', '/api/v1/entity-types/widget', { ...TICKET, name: 'Widget' })).statusCode, 201);
      const defs: Record<string, unknown> = {
        two_step: manual([http('first', `${target.url}/first`), http('second', `${target.url}/second`)]),
        slow_then: manual([http('first', `${slow.url}/slow`), http('after', `${target.url}/after`)]),
        wait_first: manual([{ key: 'wait', kind: 'delay', input: { ms: 5000 } }, http('late', `${target.url}/late`)]),
        guarded: manual([{ key: 'never', kind: 'http.request', when: 'n > 1000', input: { url: "'http://x/' & $number('x')" } }]),
        off: manual([http('first', `${target.url}/off`)], { enabled: false }),
        widgets: { ...manual([http('first', `${target.url}/w`)]), entityType: 'widget' },
        preview: manual([
          http('fetch', `${target.url}/fetch`),
          { ...http('skipme', `${target.url}/skip`), when: 'n > 1000' },
          { key: 'use', kind: 'entity.update', input: { attributes: "{ 'n': tasks.fetch.output.body.value, 'title': title & '!' }" } },
          { key: 'bad', kind: 'http.request', input: { url: "'http://x/' & $number('x')" } },
        ]),
      };
      for (const [key, def] of Object.entries(defs)) assert.ok([200, 201].includes((await t.call('PUT', `/api/v1/processes/${key}`, def)).statusCode), key);
    });
    after(async () => {
      await t.close();
      await target.close();
      await slow.close();
    });

    test('process with wait → 200 with the finished run; detail shows every step', async () => {
      const id = await ticket();
      target.hits.length = 0;
      const res = await process(id, { process: 'two_step', wait: true });
      assert.equal(res.statusCode, 200, res.body);
      const run = res.json().run;
      assert.equal(run.status, 'succeeded');
      const detail = (await t.call('GET', `/api/v1/runs/${run.id}`)).json();
      assert.deepEqual(Object.keys(detail).sort(), ['attempt', 'cancelRequested', 'entityId', 'entityType', 'error', 'finishedAt', 'id', 'pinned', 'process', 'processVersion', 'queuedAt', 'startedAt', 'status', 'steps', 'trigger'].sort());
      assert.equal(detail.process, 'two_step');
      assert.equal(detail.entityId, id);
      assert.equal(detail.entityType, 'ticket');
      assert.equal(detail.processVersion, 1);
      assert.deepEqual(detail.trigger, { type: 'manual', status: null, batchId: null, actor: run.trigger.actor });
      assert.match(detail.trigger.actor, /^api_key:/);
      assert.equal(detail.error, null);
      assert.ok(detail.queuedAt && detail.startedAt && detail.finishedAt);
      assert.deepEqual(detail.steps.map((s: { task: string; status: string }) => [s.task, s.status]), [['first', 'succeeded'], ['second', 'succeeded']]);
      const [first] = detail.steps;
      assert.deepEqual(Object.keys(first).sort(), ['attempts', 'error', 'finishedAt', 'input', 'output', 'startedAt', 'status', 'task']);
      assert.equal(first.attempts, 1);
      assert.deepEqual(first.input.body, { title: `T${n}` });
      assert.equal(first.output.status, 200);
      assert.deepEqual([hits('/first'), hits('/second')], [1, 1]);
    });

    test('list: filters, newest first, paging; runs of an entity', async () => {
      const a = await ticket();
      const b = await ticket();
      const ids: string[] = [];
      for (const e of [a, a, a, b]) ids.push((await process(e, { process: 'two_step', wait: true })).json().run.id);
      const page1 = (await t.call('GET', `/api/v1/runs?entity=${a}&limit=2`)).json();
      assert.deepEqual(page1.items.map((r: { id: string }) => r.id), [ids[2], ids[1]]);
      assert.equal(page1.items[0].steps, undefined, 'lists have no steps');
      const page2 = (await t.call('GET', `/api/v1/runs?entity=${a}&limit=2&cursor=${page1.nextCursor}`)).json();
      assert.deepEqual(page2.items.map((r: { id: string }) => r.id), [ids[0]]);
      assert.equal(page2.nextCursor, null);
      const all = (await t.call('GET', '/api/v1/runs?process=two_step&status=succeeded,failed&limit=500')).json().items;
      assert.ok(ids.every((id) => all.some((r: { id: string }) => r.id === id)));
      assert.deepEqual((await t.call('GET', '/api/v1/runs?process=two_step&status=queued')).json().items, []);
      assert.deepEqual((await t.call('GET', '/api/v1/runs?process=off')).json().items, []);
      assert.deepEqual((await t.call('GET', `/api/v1/runs?batch=${a}`)).json().items, []);
      expectError(await t.call('GET', '/api/v1/runs?status=succeeded,done'), 400, 'INVALID_QUERY');
      expectError(await t.call('GET', '/api/v1/runs?entity=nope'), 400, 'INVALID_QUERY');
      expectError(await t.call('GET', '/api/v1/runs?cursor=zzz'), 400, 'INVALID_CURSOR');
      const ofB = (await t.call('GET', `/api/v1/entities/ticket/${b}/runs`)).json();
      assert.deepEqual(ofB.items.map((r: { id: string }) => r.id), [ids[3]]);
      assert.deepEqual((await t.call('GET', `/api/v1/entities/ticket/${await ticket()}/runs`)).json(), { items: [], nextCursor: null });
      expectError(await t.call('GET', `/api/v1/entities/ticket/${ids[0]}/runs`), 404, 'ENTITY_NOT_FOUND');
      expectError(await t.call('GET', `/api/v1/entities/widget/${a}/runs`), 404, 'ENTITY_NOT_FOUND');
      expectError(await t.call('GET', `/api/v1/runs/${a}`), 404, 'RUN_NOT_FOUND');
      expectError(await t.call('GET', '/api/v1/runs/not-an-id'), 404, 'RUN_NOT_FOUND');
    });

    test('retry from the failed step re-runs only that step; from the start re-runs both; a succeeded run is not retryable', async () => {
      const id = await ticket();
      target.hits.length = 0;
      target.script({ status: 200 }, { status: 400, body: { message: 'no' } });
      const failed = (await process(id, { process: 'two_step', wait: true })).json().run;
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error.retryable, false);
      assert.deepEqual(failed.steps.map((s: { status: string }) => s.status), ['succeeded', 'failed']);
      const retried = await t.call('POST', `/api/v1/runs/${failed.id}/retry`, {});
      assert.equal(retried.statusCode, 202, retried.body);
      assert.equal(retried.json().error, null);
      assert.ok(['queued', 'running', 'succeeded'].includes(retried.json().status));
      const done = await finished(failed.id);
      assert.equal(done.status, 'succeeded');
      assert.deepEqual([hits('/first'), hits('/second')], [1, 2], 'only the failed step ran again');
      expectError(await t.call('POST', `/api/v1/runs/${failed.id}/retry`, { from: 'start' }), 409, 'RUN_NOT_RETRYABLE');

      target.hits.length = 0;
      target.script({ status: 200 }, { status: 400 });
      const again = (await process(id, { process: 'two_step', wait: true })).json().run;
      assert.equal(again.status, 'failed');
      // Two retries at once: one wins.
      const both = await Promise.all([1, 2].map(() => t.call('POST', `/api/v1/runs/${again.id}/retry`, { from: 'start' })));
      assert.deepEqual(both.map((r) => r.statusCode).sort(), [202, 409]);
      assert.equal((await finished(again.id)).status, 'succeeded');
      assert.deepEqual([hits('/first'), hits('/second')], [2, 2], 'both steps ran again');
      expectError(await t.call('POST', `/api/v1/runs/${again.id}/retry`, { from: 'middle' }), 400, 'VALIDATION_FAILED');
    });

    test('cancel a waiting run at once; a finished run → 409; a cancelled run can be retried', async () => {
      const id = await ticket();
      const queued = await process(id, { process: 'wait_first' });
      assert.equal(queued.statusCode, 202);
      const runId = queued.json().run.id;
      await runInState(t, runId, ['waiting']);
      const cancelled = await t.call('POST', `/api/v1/runs/${runId}/cancel`);
      assert.equal(cancelled.statusCode, 202);
      assert.equal(cancelled.json().status, 'cancelled');
      assert.ok(cancelled.json().finishedAt);
      expectError(await t.call('POST', `/api/v1/runs/${runId}/cancel`), 409, 'RUN_FINISHED');
      const retried = await t.call('POST', `/api/v1/runs/${runId}/retry`);
      assert.equal(retried.statusCode, 202);
      assert.equal(retried.json().finishedAt, null);
      await runInState(t, runId, ['waiting']);
      assert.equal((await t.call('POST', `/api/v1/runs/${runId}/cancel`)).json().status, 'cancelled');
      await claimRoundsPassed(t.executor!, t.services.bus); // the worker looked again, and left it alone
      assert.equal((await t.call('GET', `/api/v1/runs/${runId}`)).json().status, 'cancelled');
      assert.equal(hits('/late'), 0);
    });

    test('cancel a running run: it ends cancelled before its next step', async () => {
      const id = await ticket();
      target.hits.length = 0;
      const runId = (await process(id, { process: 'slow_then' })).json().run.id;
      await eventually(() => slow.held.length > 0, 5000, 'the first step to be running');
      const res = await t.call('POST', `/api/v1/runs/${runId}/cancel`);
      assert.equal(res.statusCode, 202);
      assert.equal(res.json().status, 'running');
      assert.equal(res.json().cancelRequested, true);
      slow.release();
      const done = await finished(runId);
      assert.equal(done.status, 'cancelled');
      assert.deepEqual(done.steps.map((s: { task: string; status: string }) => [s.task, s.status]), [['first', 'succeeded']]);
      assert.equal(hits('/after'), 0);
    });

    test('a cancel asked while a step fails retryably ends the run instead of retrying it', async () => {
      const id = await ticket();
      const runId = (await process(id, { process: 'slow_then' })).json().run.id;
      await eventually(() => slow.held.length > 0, 5000, 'the first step to be running');
      assert.equal((await t.call('POST', `/api/v1/runs/${runId}/cancel`)).json().cancelRequested, true);
      slow.release(503);
      const done = await finished(runId);
      assert.equal(done.status, 'cancelled');
      assert.deepEqual(done.steps.map((s: { status: string }) => s.status), ['failed']);
      await claimRoundsPassed(t.executor!, t.services.bus);
      assert.equal(slow.held.length, 0, 'the step was not tried again');
      assert.equal((await t.call('GET', `/api/v1/runs/${runId}`)).json().steps[0].attempts, 1);
    });

    test('a task whose condition is false is skipped even when its input cannot be evaluated', async () => {
      const run = (await process(await ticket(), { process: 'guarded', wait: true })).json().run;
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.deepEqual(run.steps.map((s: { status: string }) => s.status), ['skipped']);
    });

    test('wait past the server-side limit → 202 with the run as it is', async () => {
      const short = await buildApp({ services: t.services, defaultOrgId: t.defaultOrgId, version: 'test', logLevel: 'silent', runs: { waitLimitMs: 300 } });
      try {
        const id = await ticket();
        const started = Date.now();
        const res = await short.inject({ method: 'POST', url: `/api/v1/entities/ticket/${id}/process`, headers: { authorization: `Bearer ${ADMIN_KEY}` }, payload: { process: 'wait_first', wait: true } });
        assert.equal(res.statusCode, 202, res.body);
        assert.ok(Date.now() - started < 3000);
        assert.ok(['queued', 'running', 'waiting'].includes(res.json().run.status));
        await t.call('POST', `/api/v1/runs/${res.json().run.id}/cancel`);
      } finally {
        await short.close();
      }
    });

    test('dry run: evaluated inputs, skipped and failed tasks; nothing sent, nothing written; works for disabled processes', async () => {
      const id = await ticket();
      const rowsBefore = await countRuns();
      target.hits.length = 0;
      const res = await process(id, { process: 'preview', dryRun: true });
      assert.equal(res.statusCode, 200, res.body);
      const run = res.json().run;
      assert.equal(run.dryRun, true);
      assert.equal(run.id, null);
      assert.equal(run.status, 'failed');
      assert.equal(run.error.code, 'EXPRESSION_FAILED');
      assert.deepEqual(run.steps.map((s: { status: string }) => s.status), ['evaluated', 'skipped', 'evaluated', 'failed']);
      assert.deepEqual(run.steps[0].input, { method: 'POST', url: `${target.url}/fetch`, body: { title: `T${n}` } });
      assert.deepEqual(run.steps[2].input, { attributes: { title: `T${n}!` } });
      assert.match(run.steps[2].note, /tasks\.fetch\.output/);
      assert.match(run.steps[3].error.message, /bad\.input\.url/);
      assert.equal(target.hits.length, 0, 'nothing was sent');
      assert.equal(await countRuns(), rowsBefore, 'no run row');
      assert.equal((await t.call('GET', `/api/v1/entities/ticket/${id}`)).json().version, 1, 'the entity was not saved');
      const off = await process(id, { process: 'off', dryRun: true });
      assert.equal(off.statusCode, 200);
      assert.equal(off.json().run.status, 'succeeded');
      expectError(await process(id, { process: 'off' }), 409, 'PROCESS_DISABLED');
    });

    test('bad requests: wrong entity type, unknown process or entity, unknown fields', async () => {
      const id = await ticket();
      expectError(await process(id, { process: 'widgets' }), 409, 'PROCESS_WRONG_ENTITY_TYPE');
      expectError(await process(id, { process: 'nope' }), 404, 'PROCESS_NOT_FOUND');
      expectError(await process('0'.repeat(26), { process: 'two_step' }), 404, 'ENTITY_NOT_FOUND');
      expectError(await process(id, { process: 'two_step', extra: 1 }), 400, 'VALIDATION_FAILED');
      expectError(await process(id, { process: 'two_step', wait: 'yes' }), 400, 'VALIDATION_FAILED');
      expectError(await process(id, {}), 400, 'VALIDATION_FAILED');
    });

    test('organizations are isolated; viewers cannot retry, cancel or process', async () => {
      const id = await ticket();
      const run = (await process(id, { process: 'two_step', wait: true })).json().run;
      const other = (await t.call('POST', '/api/v1/organizations', { name: `Other ${dialect}` })).json().apiKey.key as string;
      const as = (method: 'GET' | 'POST', url: string, key: string, body?: unknown) => t.call(method, url, body, { key });
      expectError(await as('GET', `/api/v1/runs/${run.id}`, other), 404, 'RUN_NOT_FOUND');
      expectError(await as('POST', `/api/v1/runs/${run.id}/retry`, other, {}), 404, 'RUN_NOT_FOUND');
      expectError(await as('POST', `/api/v1/runs/${run.id}/cancel`, other), 404, 'RUN_NOT_FOUND');
      assert.deepEqual((await as('GET', '/api/v1/runs', other)).json(), { items: [], nextCursor: null });
      assert.deepEqual((await as('GET', `/api/v1/runs?entity=${id}`, other)).json().items, []);
      expectError(await as('GET', `/api/v1/entities/ticket/${id}/runs`, other), 404, 'ENTITY_NOT_FOUND');
      expectError(await as('POST', `/api/v1/entities/ticket/${id}/process`, other, { process: 'two_step' }), 404, 'PROCESS_NOT_FOUND');

      const viewer = (await t.call('POST', '/api/v1/api-keys', { name: 'v', role: 'viewer' })).json().key as string;
      expectError(await as('POST', `/api/v1/runs/${run.id}/retry`, viewer, {}), 403, 'FORBIDDEN');
      expectError(await as('POST', `/api/v1/runs/${run.id}/cancel`, viewer), 403, 'FORBIDDEN');
      expectError(await as('POST', `/api/v1/entities/ticket/${id}/process`, viewer, { process: 'two_step', dryRun: true }), 403, 'FORBIDDEN');
      assert.equal((await as('GET', `/api/v1/runs/${run.id}`, viewer)).statusCode, 200);
      const operator = (await t.call('POST', '/api/v1/api-keys', { name: 'o', role: 'operator' })).json().key as string;
      expectError(await as('POST', `/api/v1/runs/${run.id}/cancel`, operator), 409, 'RUN_FINISHED');
    });
  });
}
