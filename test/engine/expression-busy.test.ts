/**
 * EXPR_BUSY (a call not evaluated because the expression workers were overloaded) is load, not the
 * data's fault: a save is refused with 503 EXPRESSION_BUSY and nothing written, never a failed
 * requirement; a run's step fails with the retryable EXPRESSION_BUSY and the run succeeds on retry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/wait.js';
import type { EvalOutcome, Evaluator } from '../../src/expr/index.js';

const NOTE = {
  name: 'Note',
  attributes: [{ key: 'text', type: 'string' }, { key: 'n', type: 'integer' }],
  statuses: [{ key: 'draft', name: 'Draft', initial: true }, { key: 'flagged', name: 'Flagged' }],
  requirements: [{ key: 'has_text', condition: '$exists(text)', message: 'text is required', enforce: true }, { key: 'short', condition: '$length(text) < 100', message: 'short' }],
  transitions: [{ from: ['draft'], to: 'flagged', whenFailing: ['short'], auto: true }],
};

const busy = (count: number): EvalOutcome[] => Array.from({ length: count }, () => ({ ok: false, error: { code: 'EXPR_BUSY', message: 'busy' } }));

for (const dialect of DIALECTS) {
  describe(`EXPR_BUSY on ${dialect}`, () => {
    let t: TestApp;
    let overloaded = false;

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 50 } });
      const real: Evaluator = t.services.evaluator;
      // The evaluator as it answers when its workers are swamped (the pool's own EXPR_BUSY is tested in src/expr/fairness.test.ts).
      t.services.evaluator = {
        evaluateMany: (sources, input, call) => (overloaded ? Promise.resolve(busy(sources.length)) : real.evaluateMany(sources, input, call)),
        evaluateForEach: (source, inputs, call) => (overloaded ? Promise.resolve(busy(inputs.length)) : real.evaluateForEach(source, inputs, call)),
        close: () => real.close(),
      };
      assert.equal((await t.call('PUT', '/api/v1/entity-types/note', NOTE)).statusCode, 201);
      const task = { key: 'bump', kind: 'entity.update', input: { attributes: "{ 'n': $count([text]) }" } };
      const settings = { retry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 50 } };
      assert.equal((await t.call('PUT', '/api/v1/processes/bump', { name: 'Bump', entityType: 'note', trigger: { manual: true }, settings, tasks: [task] })).statusCode, 201);
    });
    after(async () => {
      overloaded = false;
      await t?.close();
    });

    test('a save is refused with 503 EXPRESSION_BUSY and nothing is written; no requirement fails, no transition is taken', async () => {
      const created = (await t.call('POST', '/api/v1/entities/note', { attributes: { text: 'hello' } })).json();
      overloaded = true;
      try {
        const refused = await t.call('PATCH', `/api/v1/entities/note/${created.id}`, { attributes: { text: 'changed' } });
        assert.equal(refused.statusCode, 503, refused.body);
        assert.equal(refused.json().error.code, 'EXPRESSION_BUSY');
        const read = await t.call('GET', `/api/v1/entities/note/${created.id}`);
        assert.equal(read.statusCode, 503);
      } finally {
        overloaded = false;
      }
      const after = (await t.call('GET', `/api/v1/entities/note/${created.id}`)).json();
      assert.equal(after.version, 1);
      assert.equal(after.status, 'draft');
      assert.equal(after.attributes.text, 'hello');
    });

    test("a run's step fails with the retryable EXPRESSION_BUSY, and the run succeeds once the load is gone", async () => {
      const created = (await t.call('POST', '/api/v1/entities/note', { attributes: { text: 'x' } })).json();
      overloaded = true;
      let runId: string;
      try {
        runId = (await t.call('POST', `/api/v1/entities/note/${created.id}/process`, { process: 'bump' })).json().run.id;
        const waiting = await eventually(async () => {
          const r = (await t.call('GET', `/api/v1/runs/${runId}`)).json();
          return r.error?.code === 'EXPRESSION_BUSY' ? r : undefined;
        }, 20_000, 'the step to fail with EXPRESSION_BUSY');
        assert.equal(waiting.error.retryable, true);
        assert.notEqual(waiting.status, 'failed');
      } finally {
        overloaded = false;
      }
      const done = await eventually(async () => {
        const r = (await t.call('GET', `/api/v1/runs/${runId}`)).json();
        return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
      }, 20_000, 'the run to finish');
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    });
  });
}
