/** The process engine end to end in process: triggering, execution, retries, loops, delays, resume. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startTarget, type Target } from '../support/target.js';
import { eventually } from '../support/wait.js';
import { getRun, insertRuns, listSteps, writeStep, type Run } from '../../src/store/runs.js';
import { newId } from '../../src/domain/ids.js';

const TICKET = {
  name: 'Ticket',
  attributes: [
    { key: 'title', type: 'string', required: true },
    { key: 'n', type: 'integer' },
    { key: 'ready', type: 'boolean', default: false },
  ],
  statuses: [
    { key: 'open', name: 'Open', initial: true },
    { key: 'ready', name: 'Ready' },
    { key: 'a', name: 'A' },
    { key: 'b', name: 'B' },
  ],
  requirements: [
    { key: 'is_ready', condition: 'ready = true', message: 'not ready' },
    { key: 'title_ok', condition: "$length(title) > 0 and title != 'bad'", message: 'bad title', enforce: true },
  ],
  transitions: [
    { from: ['open'], to: 'ready', when: ['is_ready'], auto: true },
    { from: ['open', 'ready', 'b'], to: 'a' },
    { from: ['a'], to: 'b' },
  ],
};

const fast = { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 } };

for (const dialect of DIALECTS) {
  describe(`process engine on ${dialect}`, () => {
    let t: TestApp;
    let target: Target;
    let n = 0;
    const put = async (key: string, def: unknown) => {
      const res = await t.call('PUT', `/api/v1/processes/${key}`, def);
      assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
    };
    const create = async (attributes: Record<string, unknown>) => {
      const res = await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: `T${++n}`, ...attributes } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    };
    const run = (id: string) => getRun(t.services.database.db, t.defaultOrgId, id);
    const finished = (id: string, ms = 10_000) =>
      eventually(async () => {
        const r = await run(id);
        return r && ['succeeded', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
      }, ms, `run ${id} to finish`);
    const disableAll = async () => {
      for (const p of (await t.call('GET', '/api/v1/processes?limit=500')).json().items) {
        await t.call('PUT', `/api/v1/processes/${p.key}`, { name: p.name, entityType: p.entityType, trigger: p.trigger, enabled: false, settings: p.settings, tasks: p.tasks });
      }
    };

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 50, leaseMs: 2000 } });
      target = await startTarget();
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
    });
    after(async () => {
      await t.close();
      await target.close();
    });

    test('entering a status queues the run in the save; it calls out once with the idempotency key', async () => {
      await disableAll();
      await put('notify', {
        name: 'Notify',
        entityType: 'ticket',
        trigger: { status: 'ready' },
        settings: fast,
        tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/hook'`, body: "{ 'title': title, 'id': entity.id }" } }],
      });
      target.hits.length = 0;
      const e = await create({ ready: true });
      assert.deepEqual(e.statusPath, ['open', 'ready']);
      assert.equal(e.queuedRuns.length, 1);
      assert.equal(e.queuedRuns[0].process, 'notify');
      const r = await finished(e.queuedRuns[0].id);
      assert.equal(r.status, 'succeeded', JSON.stringify(r.error));
      assert.equal(target.hits.length, 1);
      assert.equal(target.hits[0]!.idempotencyKey, `${r.id}:call`);
      assert.deepEqual(target.hits[0]!.body, { title: e.attributes.title, id: e.id });
      const steps = await listSteps(t.services.database.db, r.orgId, r.id);
      assert.equal(steps.length, 1);
      assert.equal(steps[0]!.status, 'succeeded');
      assert.equal((steps[0]!.output as { status: number }).status, 200);
    });

    test('a refused save queues nothing; a save that does not enter the status queues nothing', async () => {
      const before = (await t.services.database.db.selectFrom('runs').select((eb) => eb.fn.countAll<number>().as('c')).executeTakeFirstOrThrow()).c;
      const refused = await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: 'bad', ready: true } });
      assert.equal(refused.statusCode, 422);
      const e = await create({});
      assert.deepEqual(e.queuedRuns, []);
      const after = (await t.services.database.db.selectFrom('runs').select((eb) => eb.fn.countAll<number>().as('c')).executeTakeFirstOrThrow()).c;
      assert.equal(Number(after), Number(before));
    });

    test('503, 503, 200 → succeeded after 3 attempts', async () => {
      target.hits.length = 0;
      target.script({ status: 503 }, { status: 503 }, { status: 200, body: { id: 7 } });
      const e = await create({ ready: true });
      const r = await finished(e.queuedRuns[0].id);
      assert.equal(r.status, 'succeeded');
      assert.equal(target.hits.length, 3);
      assert.ok(target.hits.every((h) => h.idempotencyKey === `${r.id}:call`), 'every attempt carries the same key');
      const [step] = await listSteps(t.services.database.db, r.orgId, r.id);
      assert.equal(step!.attempts, 3);
    });

    test('429 with Retry-After: 1 waits about a second', async () => {
      target.hits.length = 0;
      target.script({ status: 429, headers: { 'retry-after': '1' } }, { status: 200 });
      const e = await create({ ready: true });
      const r = await finished(e.queuedRuns[0].id);
      assert.equal(r.status, 'succeeded');
      assert.equal(target.hits.length, 2);
      const gap = target.hits[1]!.at - target.hits[0]!.at;
      assert.ok(gap >= 950, `waited only ${gap} ms`);
    });

    test('400 fails at once as non-retryable, with the error on the run and the step', async () => {
      target.hits.length = 0;
      target.script({ status: 400, body: { message: 'email is malformed' } });
      const e = await create({ ready: true });
      const r = await finished(e.queuedRuns[0].id);
      assert.equal(r.status, 'failed');
      assert.equal(target.hits.length, 1);
      assert.equal(r.error?.retryable, false);
      assert.match(r.error!.message, /email is malformed/);
      const [step] = await listSteps(t.services.database.db, r.orgId, r.id);
      assert.equal(step!.status, 'failed');
      assert.equal(step!.error?.code, r.error?.code);
    });

    test('a step slower than the process timeout fails with STEP_TIMEOUT (retryable), and the call is abandoned', async () => {
      await disableAll();
      await put('slow', {
        name: 'Slow',
        entityType: 'ticket',
        trigger: { status: 'ready' },
        settings: { timeoutMs: 200, retry: { maxAttempts: 1 } },
        tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/slow'` } }],
      });
      target.hits.length = 0;
      target.script({ status: 200, body: { late: true }, delayMs: 3_000 });
      const started = Date.now();
      const e = await create({ ready: true });
      const r = await finished(e.queuedRuns[0].id);
      assert.ok(Date.now() - started < 2_500, 'the run ended at its time limit, not when the answer came');
      assert.equal(r.status, 'failed');
      assert.equal(r.error?.code, 'STEP_TIMEOUT');
      assert.equal(r.error?.retryable, true);
      const [step] = await listSteps(t.services.database.db, r.orgId, r.id);
      assert.equal(step!.error?.code, 'STEP_TIMEOUT');
    });

    test('when-conditions skip tasks; entity.update saves through the pipeline and outputs feed later tasks', async () => {
      await disableAll();
      await put('enrich', {
        name: 'Enrich',
        entityType: 'ticket',
        trigger: { status: 'ready' },
        settings: fast,
        tasks: [
          { key: 'skipme', kind: 'http.request', when: 'n > 100', input: { url: `'${target.url}/never'` } },
          { key: 'fetch', kind: 'http.request', input: { url: `'${target.url}/data'` } },
          { key: 'save', kind: 'entity.update', input: { attributes: "{ 'n': tasks.fetch.output.body.value }" } },
        ],
      });
      target.hits.length = 0;
      target.script({ status: 200, body: { value: 42 } });
      const e = await create({ ready: true, n: 1 });
      const r = await finished(e.queuedRuns[0].id);
      assert.equal(r.status, 'succeeded', JSON.stringify(r.error));
      const steps = await listSteps(t.services.database.db, r.orgId, r.id);
      assert.deepEqual(steps.map((s) => s.status), ['skipped', 'succeeded', 'succeeded']);
      assert.deepEqual(target.hits.map((h) => h.path), ['/data']);
      const now = (await t.call('GET', `/api/v1/entities/ticket/${e.id}`)).json();
      assert.equal(now.attributes.n, 42);
      assert.equal(now.version, 2);
      const events = (await t.call('GET', `/api/v1/entities/ticket/${e.id}/events`)).json().items;
      assert.deepEqual(events[1].actor, { type: 'run', id: r.id, process: 'enrich' });
    });

    test('two processes flipping a status back and forth stop at the loop limit with a clear error', async () => {
      await disableAll();
      await put('to_b', { name: 'a→b', entityType: 'ticket', trigger: { status: 'a' }, settings: fast, tasks: [{ key: 'flip', kind: 'entity.update', input: { status: 'b' } }] });
      await put('to_a', { name: 'b→a', entityType: 'ticket', trigger: { status: 'b' }, settings: fast, tasks: [{ key: 'flip', kind: 'entity.update', input: { status: 'a' } }] });
      const e = await create({});
      const started = (await t.call('PATCH', `/api/v1/entities/ticket/${e.id}`, { status: 'a' })).json();
      assert.equal(started.queuedRuns.length, 1);
      const failed = await eventually(async () => {
        const rows = await t.services.database.db.selectFrom('runs').selectAll().where('entity_id', '=', e.id).execute();
        const done = rows.every((x) => ['succeeded', 'failed'].includes(x.status));
        return done && rows.some((x) => x.status === 'failed') ? rows : undefined;
      }, 15_000, 'the loop to stop');
      const loopLimit = t.services.loopLimit;
      assert.equal(failed.length, loopLimit * 2, 'each process ran loopLimit times');
      const bad = failed.filter((x) => x.status === 'failed');
      assert.equal(bad.length, 1);
      const err = JSON.parse(bad[0]!.error!);
      assert.equal(err.code, 'PROCESS_LOOP_DETECTED');
      assert.equal(err.retryable, false);
      assert.match(err.message, /loop limit/);
      // The refused save wrote nothing: one event per accepted save (create, PATCH, each succeeded run's flip).
      const events = (await t.call('GET', `/api/v1/entities/ticket/${e.id}/events`)).json();
      const items = (events.items ?? events) as Array<{ entityVersion: number }>;
      assert.equal(items.length, 2 + loopLimit * 2 - 1);
      const entity = (await t.call('GET', `/api/v1/entities/ticket/${e.id}`)).json();
      assert.equal(entity.version, items.length);
      assert.equal((await t.call('GET', '/api/v1/health', undefined, { key: null })).statusCode, 200);
      await disableAll();
    });

    test('delay waits durably in the database, then the run goes on', async () => {
      await put('later', {
        name: 'Later',
        entityType: 'ticket',
        trigger: { status: 'ready' },
        settings: fast,
        tasks: [
          { key: 'wait', kind: 'delay', input: { ms: 300 } },
          { key: 'call', kind: 'http.request', input: { url: `'${target.url}/later'` } },
        ],
      });
      target.hits.length = 0;
      const e = await create({ ready: true });
      const id = e.queuedRuns[0].id;
      const waiting = await eventually(async () => ((await run(id))?.status === 'waiting' ? run(id) : undefined), 5000, 'waiting');
      assert.equal(waiting!.stepIndex, 0);
      const r = await finished(id);
      assert.equal(r.status, 'succeeded');
      assert.ok(target.hits[0]!.at - Date.parse(r.queuedAt) >= 290);
      await disableAll();
    });

    test('a run whose worker died resumes after its last committed step once the lease lapses', async () => {
      await put('two_steps', {
        name: 'Two steps',
        entityType: 'ticket',
        trigger: { manual: true },
        settings: fast,
        tasks: [
          { key: 'first', kind: 'http.request', input: { url: `'${target.url}/first'` } },
          { key: 'second', kind: 'http.request', input: { url: `'${target.url}/second'` } },
        ],
      });
      const e = await create({});
      const version = (await t.call('GET', '/api/v1/processes/two_steps')).json().version;
      const id = newId();
      const now = Date.now();
      const db = t.services.database.db;
      await insertRuns(db, [{ id, orgId: t.defaultOrgId, process: 'two_steps', processVersion: version, entityType: 'ticket', entityId: e.id, trigger: { type: 'manual' }, dedupeKey: null, causeRunId: null, chain: [], batchId: null, availableAt: now, queuedAt: new Date(now).toISOString() }]);
      // A dead worker had claimed it and committed the first step.
      await db.updateTable('runs').set({ status: 'running', lease_owner: 'dead-worker', lease_expires_at: now + 300, step_index: 1, attempt: 0 }).where('id', '=', id).execute();
      await writeStep(db, { runId: id, orgId: t.defaultOrgId, idx: 0, task: 'first', status: 'succeeded', attempts: 1, output: { status: 200 }, startedAt: new Date(now).toISOString(), finishedAt: new Date(now).toISOString() });
      target.hits.length = 0;
      const r: Run = await finished(id);
      assert.equal(r.status, 'succeeded');
      assert.deepEqual(target.hits.map((h) => h.path), ['/second'], 'the first step is not repeated');
    });
  });
}
