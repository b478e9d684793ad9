/**
 * Batch progress is visible to every API process on Postgres (issue 12, item 6): two statusflow
 * processes on one database, each with its own connections, services and bus. The first creates the
 * batch and runs it (worker and feeder); the second runs nothing — no worker, no feeder — so every
 * `batch.updated` its stream shows came through the event relay (LISTEN/NOTIFY), and its GET reads
 * the counters the first one moved.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, startTestApp, type TestApp } from '../support/app.js';
import { eventually, recordEvents } from '../support/wait.js';
import { openStream, type SseEvent, type StreamClient } from '../support/stream.js';
import type { BatchView } from '../../src/engine/batches/view.js';

const TICKETS = 40;
const TICKET = { name: 'Ticket', attributes: [{ key: 'title', type: 'string', required: true }, { key: 'done', type: 'boolean' }], statuses: [{ key: 'open', name: 'Open', initial: true }] };
// A window of 4 runs (concurrency 5 less a tenth, at least one): the batch moves in several steps.
const MARK = { name: 'Mark', entityType: 'ticket', trigger: { manual: true }, settings: { concurrency: 5 }, tasks: [{ key: 'mark', kind: 'entity.update', input: { attributes: "{ 'done': true }" } }] };

const skip = process.env.TEST_DATABASE_URL ? false : 'needs Postgres: set TEST_DATABASE_URL (processes share a database only on Postgres)';

describe('batch progress across API processes on Postgres', { skip }, () => {
  let runner: TestApp;
  let reader: TestApp;
  let stream: StreamClient;

  before(async () => {
    runner = await startTestApp('postgres', { worker: { pollMs: 50 }, feeder: { tickMs: 50, idleMs: 100 }, relay: true });
    reader = await startTestApp('postgres', { peerOf: runner, relay: true });
    assert.equal(reader.executor ?? reader.feeder, undefined, 'the reader runs nothing itself');
    stream = await openStream(await reader.app.listen({ port: 0, host: '127.0.0.1' }), ADMIN_KEY);
    // Events are sent only while another process listens: the runner has heard the reader say so.
    await eventually(() => runner.services.relay.sending, 10_000, 'the runner to hear that the reader listens');
    assert.equal((await runner.call('PUT', '/api/v1/entity-types/ticket', TICKET)).statusCode, 201);
    assert.equal((await runner.call('PUT', '/api/v1/processes/mark', MARK)).statusCode, 201);
    for (let n = 1; n <= TICKETS; n++) assert.equal((await runner.call('POST', '/api/v1/entities/ticket', { attributes: { title: `T${n}` } })).statusCode, 201);
  });
  after(async () => {
    stream?.close();
    await reader?.close();
    await runner?.close();
  });

  test('the other process streams batch.updated of a batch it does not run, up to the final one, and GET there shows the final counters', async () => {
    const published = recordEvents(runner.services.bus, runner.defaultOrgId);
    const created = await runner.call('POST', '/api/v1/batches', { process: 'mark', filter: { status: ['open'] } });
    assert.equal(created.statusCode, 201, created.body);
    const id = (created.json() as BatchView).id;
    const ofBatch = (e: SseEvent): e is SseEvent & { data: BatchView } => e.event === 'batch.updated' && (e.data as BatchView).id === id;

    const last = (await stream.next((e) => ofBatch(e) && e.data.status === 'completed', 60_000, `the final batch.updated of ${id} on the reader's stream`)).data as BatchView;
    published.stop();
    const updates = stream.events.filter(ofBatch).map((e) => e.data);
    // The creation (the action's event), the feeder's first look while it ran, and the end: at least three.
    assert.ok(updates.length >= 3, `progress reached the reader as it went, not only the start and the end (${updates.length} events)`);
    const sent = published.seen.flatMap((e) => (e.type === 'batch.updated' && e.data.id === id ? [JSON.parse(JSON.stringify(e.data)) as BatchView] : []));
    assert.deepEqual(updates, sent, 'every batch.updated the runner published reached the reader, in its order');
    assert.deepEqual([last.total, last.succeeded, last.failed, last.pending, last.queued, last.running], [TICKETS, TICKETS, 0, 0, 0, 0]);

    const read = await reader.call('GET', `/api/v1/batches/${id}`);
    assert.equal(read.statusCode, 200, read.body);
    assert.deepEqual(read.json(), last, 'the reader’s GET shows what its stream ended with');
    const marked = (await reader.call('GET', '/api/v1/entities/ticket?limit=100')).json() as { items: Array<{ attributes: { done?: boolean } }> };
    assert.equal(marked.items.filter((e) => e.attributes.done === true).length, TICKETS);
  });
});
