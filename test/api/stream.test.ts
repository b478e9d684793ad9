/** GET /api/v1/stream over a real socket: org-scoped events, pings, cleanup on disconnect and on close. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { DIALECTS } from '../support/databases.js';
import { ADMIN_KEY, startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/wait.js';
import { openStream } from '../support/stream.js';
import { buildApp } from '../../src/api/app.js';

const NOTE = { name: 'Note', attributes: [{ key: 'text', type: 'string' }], statuses: [{ key: 'draft', name: 'Draft', initial: true }] };

for (const dialect of DIALECTS) {
  describe(`live updates stream on ${dialect}`, () => {
    let t: TestApp;
    let base: string;
    let otherKey: string;
    let subscriptions = 0;

    before(async () => {
      t = await startTestApp(dialect, { worker: { pollMs: 50 } });
      // Count live bus subscriptions, to see that disconnects release theirs.
      const bus = t.services.bus;
      const subscribe = bus.subscribe.bind(bus);
      bus.subscribe = (listener) => {
        subscriptions++;
        const unsubscribe = subscribe(listener);
        let done = false;
        return () => {
          if (!done) subscriptions--;
          done = true;
          unsubscribe();
        };
      };
      base = await t.app.listen({ port: 0, host: '127.0.0.1' });
      otherKey = (await t.call('POST', '/api/v1/organizations', { name: 'Other' })).json().apiKey.key;
      for (const key of [ADMIN_KEY, otherKey]) assert.equal((await t.call('PUT', '/api/v1/entity-types/note', NOTE, { key })).statusCode, 201);
      const manual = { name: 'Ping', entityType: 'note', trigger: { manual: true }, tasks: [{ key: 'wait', kind: 'delay', input: { ms: 1 } }] };
      assert.equal((await t.call('PUT', '/api/v1/processes/ping', manual)).statusCode, 201);
    });
    after(() => t.close());

    test('streams entity.saved and run.updated of the caller’s organization only', async () => {
      const mine = await openStream(base, ADMIN_KEY);
      const theirs = await openStream(base, otherKey);
      assert.equal(mine.status, 200);
      assert.match(mine.contentType, /^text\/event-stream/);
      await eventually(() => mine.raw.startsWith('retry: 2000\n\n'), 2000, 'the retry line');
      await eventually(() => subscriptions === 2, 2000, 'both subscribed');

      const other = (await t.call('POST', '/api/v1/entities/note', { attributes: { text: 'theirs' } }, { key: otherKey })).json();
      const note = (await t.call('POST', '/api/v1/entities/note', { attributes: { text: 'mine' } })).json();
      const run = (await t.call('POST', `/api/v1/entities/note/${note.id}/process`, { process: 'ping', wait: true })).json().run;
      assert.equal(run.status, 'succeeded');
      await eventually(() => mine.events.some((e) => e.event === 'run.updated' && (e.data as { status: string }).status === 'succeeded'), 5000, 'run.updated succeeded');
      await eventually(() => theirs.events.length > 0, 2000, 'their own event');

      const saved = mine.events.filter((e) => e.event === 'entity.saved').map((e) => e.data as { id: string; type: string; status: string });
      assert.deepEqual(saved.map((d) => [d.id, d.type, d.status]), [[note.id, 'note', 'draft']]);
      const runEvents = mine.events.filter((e) => e.event === 'run.updated').map((e) => e.data as { id: string; status: string });
      assert.ok(runEvents.every((d) => d.id === run.id));
      assert.deepEqual([runEvents[0]!.status, runEvents.at(-1)!.status], ['queued', 'succeeded']);
      assert.ok(!mine.raw.includes(other.id), 'no event of the other organization');
      assert.deepEqual(theirs.events.map((e) => (e.data as { id: string }).id), [other.id]);

      mine.close();
      theirs.close();
      await eventually(() => subscriptions === 0, 2000, 'subscriptions released after disconnect');
    });

    test('needs a key; viewers may listen', async () => {
      const anonymous = await openStream(base, null);
      assert.equal(anonymous.status, 401);
      anonymous.close();
      const viewer = (await t.call('POST', '/api/v1/api-keys', { name: 'v', role: 'viewer' })).json().key;
      const client = await openStream(base, viewer);
      assert.equal(client.status, 200);
      client.close();
      await eventually(() => subscriptions === 0, 2000, 'released');
    });

    // A close() that waited for the open stream would hang: the test ends at its timeout then.
    test('pings keep the stream alive; closing the server ends open streams instead of hanging', { timeout: 30_000 }, async () => {
      const pinging: FastifyInstance = await buildApp({ services: t.services, defaultOrgId: t.defaultOrgId, version: 'test', logLevel: 'silent', stream: { pingMs: 50 } });
      const url = await pinging.listen({ port: 0, host: '127.0.0.1' });
      const client = await openStream(url, ADMIN_KEY);
      await eventually(() => client.comments.filter((c) => c === ': ping').length >= 2, 2000, 'two pings');
      await pinging.close();
      await eventually(() => client.ended, 2000, 'the client to see the end of the stream');
      assert.equal(subscriptions, 0);
    });
  });
}
