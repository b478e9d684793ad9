/**
 * The executor's timing on a clock moved by hand (Services.clock, test/support/clock.ts): a retryable
 * failure and a delay park the run until exactly the clock's time plus the wait, the step times are the
 * clock's, and the run is not claimed — however often the worker looks — until the clock is moved to
 * its due time. Assertions are on the rows and the worker's counters; nothing here depends on how long
 * the machine takes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startTarget, type Target } from '../support/target.js';
import { ManualClock } from '../support/clock.js';
import { eventually } from '../support/wait.js';
import { getRun, listSteps, type Run } from '../../src/store/runs.js';

const TYPE = { name: 'Job', attributes: [{ key: 'title', type: 'string', required: true }], statuses: [{ key: 'open', name: 'Open', initial: true }] };
const iso = (ms: number) => new Date(ms).toISOString();

for (const dialect of DIALECTS) {
  describe(`executor timing on a hand-moved clock on ${dialect}`, () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    let t: TestApp;
    let target: Target;

    const run = async (id: string) => (await getRun(t.services.database.db, t.defaultOrgId, id))!;
    const counters = () => structuredClone(t.executor!.counters);
    /** Starts `process` for a new job entity; the run's id. */
    const start = async (process: string) => {
      const entity = (await t.call('POST', '/api/v1/entities/job', { attributes: { title: process } })).json();
      const res = await t.call('POST', `/api/v1/entities/job/${entity.id}/process`, { process });
      assert.equal(res.statusCode, 202, res.body);
      return res.json().run.id as string;
    };
    const parked = (id: string) => eventually(async () => ((r: Run) => (r.status === 'waiting' ? r : undefined))(await run(id)), 30_000, `run ${id} to park`);
    /** Lets the worker claim at least twice more (both after this call began), then checks it took nothing. */
    const notClaimedAfterTwoLooks = async (id: string, claimedBefore: number) => {
      const from = counters().claims;
      await eventually(() => counters().claims >= from + 2, 30_000, 'two more claims');
      assert.equal(counters().runsClaimed, claimedBefore, 'no run was claimed');
      assert.equal((await run(id)).status, 'waiting');
    };

    before(async () => {
      t = await startTestApp(dialect, { clock, worker: { pollMs: 20, leaseMs: 600_000 } });
      target = await startTarget();
      assert.equal((await t.call('PUT', '/api/v1/entity-types/job', TYPE)).statusCode, 201);
      const put = async (key: string, def: Record<string, unknown>) =>
        assert.ok([200, 201].includes((await t.call('PUT', `/api/v1/processes/${key}`, { name: key, entityType: 'job', trigger: { manual: true }, ...def })).statusCode));
      await put('flaky', {
        settings: { retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 1000 } },
        tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/flaky'` } }],
      });
      await put('later', { tasks: [{ key: 'wait', kind: 'delay', input: { ms: 5000 } }] });
      await put('stamp', { tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${target.url}/stamp'`, body: '{"at": now}' } }] });
    });
    after(async () => {
      await t.close();
      await target.close();
    });

    test('a retryable failure parks the run until clock + backoff exactly; it is claimed only once the clock gets there', { timeout: 60_000 }, async () => {
      // Retry-After (60 s) is longer than the policy's backoff, so the backoff is exactly 60 000 ms (no jitter).
      target.script({ status: 503, headers: { 'retry-after': '60' } }, { status: 200, body: { ok: true } });
      const t0 = clock.now();
      const id = await start('flaky');
      const waiting = await parked(id);
      assert.deepEqual([waiting.attempt, waiting.availableAt, waiting.error?.code], [1, t0 + 60_000, 'HTTP_STATUS_503']);
      assert.equal(waiting.startedAt, iso(t0), "the claim's time is the clock's");
      const [failed] = await listSteps(t.services.database.db, t.defaultOrgId, id);
      assert.deepEqual([failed!.status, failed!.startedAt, failed!.finishedAt], ['failed', iso(t0), iso(t0)]);
      const claimed = counters().runsClaimed;

      await notClaimedAfterTwoLooks(id, claimed);
      clock.advanceTo(t0 + 60_000 - 1);
      await notClaimedAfterTwoLooks(id, claimed);
      assert.equal(target.hits.length, 1);

      clock.advanceTo(t0 + 60_000);
      const done = await eventually(async () => ((r: Run) => (r.status === 'succeeded' ? r : undefined))(await run(id)), 30_000, 'the retry to succeed');
      assert.equal(counters().runsClaimed, claimed + 1, 'claimed once, when due');
      assert.equal(done.finishedAt, iso(t0 + 60_000));
      const [step] = await listSteps(t.services.database.db, t.defaultOrgId, id);
      assert.deepEqual([step!.status, step!.attempts, step!.startedAt], ['succeeded', 2, iso(t0 + 60_000)]);
      assert.equal(target.hits.length, 2);
    });

    test('a delay parks the run until clock + ms exactly and ends when the clock gets there', { timeout: 60_000 }, async () => {
      const t0 = clock.now();
      const id = await start('later');
      const waiting = await parked(id);
      assert.equal(waiting.availableAt, t0 + 5000);
      const claimed = counters().runsClaimed;
      await notClaimedAfterTwoLooks(id, claimed);

      clock.advanceTo(t0 + 5000);
      const done = await eventually(async () => ((r: Run) => (r.status === 'succeeded' ? r : undefined))(await run(id)), 30_000, 'the delay to end');
      assert.equal(counters().runsClaimed, claimed + 1);
      assert.equal(done.finishedAt, iso(t0 + 5000));
      const [step] = await listSteps(t.services.database.db, t.defaultOrgId, id);
      assert.deepEqual(step!.output, { waitedUntil: iso(t0 + 5000) });
    });

    test("the `now` task expressions see is the clock's, in a real run and in a dry run", { timeout: 60_000 }, async () => {
      clock.advanceTo(clock.now() + 1234);
      const t0 = clock.now();
      const entity = (await t.call('POST', '/api/v1/entities/job', { attributes: { title: 'stamp' } })).json();
      const dry = (await t.call('POST', `/api/v1/entities/job/${entity.id}/process`, { process: 'stamp', dryRun: true })).json().run;
      assert.deepEqual([dry.startedAt, dry.steps[0].input.body], [iso(t0), { at: iso(t0) }]);
      target.script({ status: 200, body: { ok: true } });
      const hits = target.hits.length;
      const id = (await t.call('POST', `/api/v1/entities/job/${entity.id}/process`, { process: 'stamp' })).json().run.id as string;
      await eventually(async () => (await run(id)).status === 'succeeded', 30_000, 'the run to succeed');
      assert.deepEqual(target.hits[hits]!.body, { at: iso(t0) });
    });
  });
}
