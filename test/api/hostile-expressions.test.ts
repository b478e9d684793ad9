/**
 * Hostile expressions from one organization against the whole server (issue 10, items 2 and 3), on
 * every database: regexes that backtrack exponentially yet pass the definition check, planted in a
 * requirement, a task's input and a `where`, must never block the event loop (measured with
 * monitorEventLoopDelay), and must not fail any evaluation of another organization meanwhile.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/wait.js';
import { watchEventLoop } from '../support/event-loop.js';

/** Six adjacent bounded quantifiers then an unbounded one: 1.2–3.4 s each on 35–40 characters here, ×3 per 5 more: 45 leaves no doubt, all accepted by safe-regex2. */
const six = (atom: string) => atom.repeat(6);
const HOSTILE = {
  requirement: `/${six('a{0,16}')}a*$/`,
  task: `/${six('[ab]{0,16}')}[ac]*$/`,
  where: `/${'\\w{0,16}\\d{0,16}'.repeat(3)}\\w*!/`,
  whereDots: `/${six('.{0,16}')}.*!$/`,
};
const SLOW_A = 'a'.repeat(45) + '#';
const SLOW_1 = '1'.repeat(45) + '#';
// Each stopped worker costs the time limit (1 s) plus a restart, which under tsx on a loaded machine
// takes seconds: the waits below are generous, and only states and counts are asserted on them.

/** The longest the event loop may be blocked at once (issue 10). */
const MAX_BLOCK_MS = 100;
/**
 * What monitorEventLoopDelay may show on a shared, overloaded machine (up to ~340 ms seen here at a
 * load average of 20 on 2 cores, with ≤ 20 ms of it main-thread work); one hostile regex run on the
 * loop blocks it for seconds.
 */
const MAX_DELAY_MS = 1_000;

const THING = {
  name: 'Thing',
  attributes: [{ key: 'name', type: 'string' }, { key: 'code', type: 'string' }],
  statuses: [{ key: 'new', name: 'New', initial: true }],
  requirements: [{ key: 'shape', condition: `$contains(name, ${HOSTILE.requirement})`, message: 'name has the shape' }],
};

/**
 * Org A's type: every expression goes to the worker (a filter is never evaluated inline), so the
 * pool's blame and fairness are what keep them from failing.
 */
const LEDGER = {
  name: 'Ledger',
  attributes: [{ key: 'lines', type: 'json' }, { key: 'total', type: 'number' }],
  statuses: [{ key: 'open', name: 'Open', initial: true }],
  requirements: [{ key: 'always', condition: '$count(lines[$ >= 0]) >= 0', message: 'always true', enforce: true }],
};
const settings = { retry: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 20 } };

for (const dialect of DIALECTS) {
  describe(`hostile expressions from one organization, on ${dialect}`, () => {
    let t: TestApp;
    let bAdmin: string;
    let bViewer: string;

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 50 } });
      const org = (await t.call('POST', '/api/v1/organizations', { name: 'Hostile' })).json();
      bAdmin = org.apiKey.key;
      bViewer = (await t.call('POST', '/api/v1/api-keys', { name: 'v', role: 'viewer' }, { key: bAdmin })).json().key;
      const asB = (method: 'PUT', url: string, body: unknown) => t.call(method, url, body, { key: bAdmin });
      assert.equal((await asB('PUT', '/api/v1/entity-types/thing', THING)).statusCode, 201, 'the definition check lets the hostile regex through');
      const hostileTask = { key: 'mark', kind: 'entity.update', input: { attributes: `{ 'code': $contains(name, ${HOSTILE.task}) ? 'y' : 'n' }` } };
      assert.equal((await asB('PUT', '/api/v1/processes/mark', { name: 'Mark', entityType: 'thing', trigger: { manual: true }, settings, tasks: [hostileTask] })).statusCode, 201);
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ledger', LEDGER)).statusCode, 201);
      const sum = { key: 'sum', kind: 'entity.update', input: { attributes: "{ 'total': $sum(lines[$ > 0]) }" } };
      assert.equal((await t.call('PUT', '/api/v1/processes/sum', { name: 'Sum', entityType: 'ledger', trigger: { manual: true }, settings, tasks: [sum] })).statusCode, 201);
    });
    after(() => t?.close());

    /** Org A's work: saves (enforced requirement), real runs and a dry run, every evaluation in the worker. None may fail. */
    async function innocentWork(rounds: number): Promise<number> {
      let slowest = 0;
      for (let i = 0; i < rounds; i++) {
        const start = Date.now();
        const saved = await t.call('POST', '/api/v1/entities/ledger', { attributes: { lines: [1, 2, i] } });
        slowest = Math.max(slowest, Date.now() - start);
        assert.equal(saved.statusCode, 201, `save ${i}: ${saved.body}`);
        const entity = saved.json();
        assert.equal(entity.requirements.find((r: { key: string }) => r.key === 'always').passed, true);
        const dry = await t.call('POST', `/api/v1/entities/ledger/${entity.id}/process`, { process: 'sum', dryRun: true });
        assert.equal(dry.json().run.status, 'succeeded', `dry run ${i}: ${dry.body}`);
        const run = await t.call('POST', `/api/v1/entities/ledger/${entity.id}/process`, { process: 'sum', wait: true });
        const finished = await eventually(async () => {
          const r = (await t.call('GET', `/api/v1/runs/${run.json().run.id}`)).json();
          return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
        }, 180_000, 'the run to finish');
        assert.equal(finished.status, 'succeeded', `run ${i}: ${JSON.stringify(finished.error)}`);
      }
      return slowest;
    }

    test('exponential regexes in a requirement, a task input and a where never block the event loop; the other org saves meanwhile', async (ctx) => {
      const loop = await watchEventLoop();
      let report;
      try {
        // Requirement: evaluated on the save and on every GET of the entity.
        const saved = await t.call('POST', '/api/v1/entities/thing', { attributes: { name: SLOW_A, code: SLOW_1 } }, { key: bAdmin });
        assert.equal(saved.statusCode, 201, saved.body);
        const shape = saved.json().requirements[0];
        assert.equal(shape.passed, false);
        assert.equal(shape.error.code, 'EXPR_TIMEOUT');
        const id = saved.json().id;
        const hostile = [
          t.call('GET', `/api/v1/entities/thing/${id}`, undefined, { key: bViewer }),
          // Task input: the run's step fails, permanently, with the expression's own time limit.
          t.call('POST', `/api/v1/entities/thing/${id}/process`, { process: 'mark', wait: true }, { key: bAdmin }),
          // where (the viewer's): some answer, never a 500.
          t.call('GET', `/api/v1/entities/thing?where=${encodeURIComponent(`$contains(code, ${HOSTILE.where})`)}`, undefined, { key: bViewer }),
          t.call('GET', `/api/v1/entities/thing?where=${encodeURIComponent(`$contains(name, ${HOSTILE.whereDots})`)}`, undefined, { key: bViewer }),
        ];
        await innocentWork(2);
        const [read, run, ...wheres] = await Promise.all(hostile);
        assert.equal(read!.statusCode, 200);
        assert.equal(read!.json().requirements[0].error.code, 'EXPR_TIMEOUT');
        for (const w of wheres) assert.ok(w.statusCode < 500 || w.statusCode === 503, `where: ${w.statusCode} ${w.body}`);
        const failed = await eventually(async () => {
          const r = (await t.call('GET', `/api/v1/runs/${run!.json().run.id}`, undefined, { key: bAdmin })).json();
          return r.status === 'failed' ? r : undefined;
        }, 180_000, 'the hostile run to fail');
        assert.equal(failed.error.code, 'EXPRESSION_FAILED');
        assert.equal(failed.error.retryable, false);
        assert.equal(failed.error.details.code, 'EXPR_TIMEOUT');
      } finally {
        report = loop.stop();
      }
      const figures = `monitorEventLoopDelay max ${report.delayMaxMs.toFixed(0)} ms, main-thread CPU between two 10 ms ticks max ${report.busyMaxMs ?? '?'} ms`;
      // The loop never ran our work for over 100 ms at once (Linux: measured; elsewhere the delay must show it).
      assert.ok((report.busyMaxMs ?? report.delayMaxMs) < MAX_BLOCK_MS, figures);
      assert.ok(report.delayMaxMs < MAX_DELAY_MS, figures);
      ctx.diagnostic(figures);
    });

    test("a viewer's looping hostile where requests fail none of the other organization's saves, runs or dry runs", async (ctx) => {
      let stop = false;
      let requests = 0;
      const flood = async (where: string) => {
        while (!stop) {
          const res = await t.call('GET', `/api/v1/entities/thing?where=${encodeURIComponent(where)}`, undefined, { key: bViewer });
          assert.ok(res.statusCode < 500 || res.statusCode === 503, `where: ${res.statusCode} ${res.body}`);
          requests++;
        }
      };
      const floods = [flood(`$contains(code, ${HOSTILE.where})`), flood(`$contains(name, ${HOSTILE.whereDots})`)];
      let slowest = 0;
      try {
        slowest = await innocentWork(3);
      } finally {
        stop = true;
        await Promise.all(floods);
      }
      assert.ok(requests >= 2, `${requests} hostile requests ran beside`);
      ctx.diagnostic(`${requests} hostile where requests beside 3 saves, 3 dry runs and 3 runs of the other org, all succeeded; slowest save ${slowest} ms`);
    });
  });
}
