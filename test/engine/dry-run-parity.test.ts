/**
 * A dry run and a real run of the same task evaluate it the same way (executor/evaluate-task.ts): the
 * same input is sent, the same task is skipped, the same expression failure ends the run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startTarget, type Target } from '../support/target.js';

const TICKET = {
  name: 'Ticket',
  attributes: [{ key: 'title', type: 'string', required: true }, { key: 'n', type: 'integer' }, { key: 'tags', type: 'json' }],
  statuses: [{ key: 'open', name: 'Open', initial: true }],
};
const settings = { retry: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 20 } };
const manual = (tasks: unknown[]) => ({ name: 'P', entityType: 'ticket', trigger: { manual: true }, settings, tasks });

for (const dialect of DIALECTS) {
  describe(`dry run and real run evaluate alike on ${dialect}`, () => {
    let t: TestApp;
    let target: Target;
    const ticket = async (attributes: Record<string, unknown>) => (await t.call('POST', '/api/v1/entities/ticket', { attributes })).json().id as string;
    const both = async (id: string, process: string) => {
      const dry = (await t.call('POST', `/api/v1/entities/ticket/${id}/process`, { process, dryRun: true })).json().run;
      const real = (await t.call('POST', `/api/v1/entities/ticket/${id}/process`, { process, wait: true })).json().run;
      return { dry, real };
    };

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 50 } });
      target = await startTarget();
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
      const defs: Record<string, unknown> = {
        mapped: manual([
          { key: 'gate', kind: 'http.request', when: 'n > 1000', input: { url: "'http://x/' & $number('x')" } },
          {
            key: 'send',
            kind: 'http.request',
            when: 'n < 1000 and $count(tags) = 2',
            input: { method: 'POST', url: `'${target.url}/send/' & $string(n)`, headers: { 'x-title': '$uppercase(title)' }, body: "{ 'title': title, 'twice': n * 2, 'tags': tags, 'entity': entity.type, 'process': run.process, 'gate': tasks.gate.status }" },
          },
        ]),
        broken: manual([{ key: 'bad', kind: 'http.request', input: { url: "'http://x/' & $number(title)" } }]),
        broken_when: manual([{ key: 'bad_when', kind: 'http.request', when: '$number(title) > 1', input: { url: `'${target.url}/never'` } }]),
      };
      for (const [key, def] of Object.entries(defs)) assert.equal((await t.call('PUT', `/api/v1/processes/${key}`, def)).statusCode, 201, key);
    });
    after(async () => {
      await t.close();
      await target.close();
    });

    test('the same skip decision and the same evaluated input', async () => {
      const id = await ticket({ title: 'Paper jam', n: 21, tags: ['a', 'b'] });
      const { dry, real } = await both(id, 'mapped');
      assert.equal(real.status, 'succeeded', JSON.stringify(real.error));
      assert.deepEqual(dry.steps.map((s: { status: string }) => s.status), ['skipped', 'evaluated']);
      assert.deepEqual(real.steps.map((s: { status: string }) => s.status), ['skipped', 'succeeded']);
      const expected = { method: 'POST', url: `${target.url}/send/21`, headers: { 'x-title': 'PAPER JAM' }, body: { title: 'Paper jam', twice: 42, tags: ['a', 'b'], entity: 'ticket', process: 'mapped', gate: 'skipped' } };
      assert.deepEqual(dry.steps[1].input, expected);
      assert.deepEqual(real.steps[1].input, expected);
      assert.deepEqual(target.hits.find((h) => h.path === '/send/21')?.body, expected.body, 'what was sent is what the dry run showed');
    });

    test('a false `when` skips in both, even where the other input would fail', async () => {
      const id = await ticket({ title: 'x', n: 5, tags: ['only one'] });
      const { dry, real } = await both(id, 'mapped');
      assert.deepEqual(dry.steps.map((s: { status: string }) => s.status), ['skipped', 'skipped']);
      assert.deepEqual(real.steps.map((s: { status: string }) => s.status), ['skipped', 'skipped']);
      assert.equal(real.status, 'succeeded');
    });

    test('the same expression failure, in an input mapping and in `when`', async () => {
      const id = await ticket({ title: 'not a number', n: 1, tags: [] });
      for (const process of ['broken', 'broken_when']) {
        const { dry, real } = await both(id, process);
        assert.equal(dry.status, 'failed');
        assert.equal(real.status, 'failed');
        assert.equal(real.error.code, 'EXPRESSION_FAILED');
        assert.deepEqual(dry.error, real.error, process);
        assert.deepEqual(dry.steps[0].error, real.steps[0].error, process);
      }
      assert.equal(target.hits.filter((h) => h.path === '/never').length, 0);
    });
  });
}
