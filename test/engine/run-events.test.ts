/**
 * run.updated follows a run step by step (one event per committed step, with `step`), and failures
 * say who raised them (`origin`) and what lay under them (`cause`), on the bus and in the run API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startTarget, type Target } from '../support/target.js';
import { recordEvents, runInState, type RunView } from '../support/wait.js';

const TICKET = { name: 'Ticket', attributes: [{ key: 'title', type: 'string', required: true }], statuses: [{ key: 'open', name: 'Open', initial: true }] };
const settings = { retry: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 20 } };
const manual = (tasks: unknown[]) => ({ name: 'P', entityType: 'ticket', trigger: { manual: true }, settings, tasks });

/** A loopback port nobody listens on (taken, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

for (const dialect of DIALECTS) {
  describe(`run events and failure origins on ${dialect}`, () => {
    let t: TestApp;
    let target: Target;
    let port: number;
    const start = async (process: string) => {
      const id = (await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: 'T' } })).json().id as string;
      const res = await t.call('POST', `/api/v1/entities/ticket/${id}/process`, { process });
      assert.equal(res.statusCode, 202, res.body);
      return res.json().run.id as string;
    };

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 50 } });
      target = await startTarget();
      port = await closedPort();
      assert.equal((await t.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
      const defs: Record<string, unknown> = {
        three: manual([
          { key: 'first', kind: 'http.request', input: { url: `'${target.url}/ok'` } },
          { key: 'never', kind: 'http.request', when: 'false', input: { url: `'${target.url}/never'` } },
          { key: 'refused', kind: 'http.request', input: { url: `'${target.url}/no'` } },
        ]),
        bad_expression: manual([{ key: 'bad', kind: 'http.request', input: { url: "'http://x/' & $number(title)" } }]),
        unreachable: manual([{ key: 'down', kind: 'http.request', input: { url: `'http://127.0.0.1:${port}/'` } }]),
      };
      for (const [key, def] of Object.entries(defs)) assert.equal((await t.call('PUT', `/api/v1/processes/${key}`, def)).statusCode, 201, key);
    });
    after(async () => {
      await t.close();
      await target.close();
    });

    test('one run.updated per committed step, carrying the step; the run statuses as before', async () => {
      const events = recordEvents(t.services.bus, t.defaultOrgId);
      target.script({ status: 200 }, { status: 400, body: { message: 'no' } });
      const runId = await start('three');
      await events.next((e) => e.type === 'run.updated' && e.data.id === runId && e.data.status === 'failed', 10_000, 'the run to fail');
      events.stop();
      const updates = events.runUpdates(runId);
      assert.deepEqual(
        updates.map((u) => [u.status, u.step ? `${u.step.index}:${u.step.task}:${u.step.status}` : null]),
        [
          ['queued', null],
          ['running', null],
          ['running', '0:first:succeeded'],
          ['running', '1:never:skipped'],
          ['failed', '2:refused:failed'],
        ],
      );
      for (const u of updates) assert.deepEqual(Object.keys(u).filter((k) => k !== 'step').sort(), ['entityId', 'entityType', 'error', 'id', 'process', 'status']);
      const failed = updates.at(-1)!;
      assert.equal(failed.error?.code, 'HTTP_STATUS_400');
      assert.equal(failed.error?.origin, 'task');
    });

    test('the run API shows origin and cause: an expression failure is the engine’s, a refused connection the task’s', async () => {
      const bad = await runInState<RunView>(t, await start('bad_expression'));
      assert.equal(bad.status, 'failed');
      assert.equal(bad.error?.code, 'EXPRESSION_FAILED');
      assert.equal(bad.error?.origin, 'engine');
      assert.equal((bad.error?.cause as { code: string }).code.startsWith('EXPR_'), true, JSON.stringify(bad.error));
      assert.deepEqual(bad.steps[0]!.error, bad.error);

      const down = await runInState<RunView>(t, await start('unreachable'));
      assert.equal(down.error?.code, 'NETWORK_ERROR');
      assert.equal(down.error?.origin, 'task');
      assert.equal((down.error?.cause as { code: string }).code, 'ECONNREFUSED');
    });
  });
}
