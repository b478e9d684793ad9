/**
 * The event relay: on Postgres, events published in one statusflow process reach the bus of another
 * (two Database handles on one database stand for two processes), in order, once, never echoed back;
 * oversized events are trimmed or dropped; junk on the channel is ignored; nothing is sent while no
 * other process listens. On SQLite it does nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Bus, type BusEvent } from '../../src/engine/bus.js';
import { entitySaved, runUpdated } from '../../src/engine/bus-events.js';
import { EVENTS_CHANNEL, EventRelay } from '../../src/engine/event-relay.js';
import { newId } from '../../src/domain/ids.js';
import type { Failure } from '../../src/domain/failure.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { openTestDatabase, pgAdmin, type TestDatabase } from '../support/databases.js';
import { eventually } from '../support/wait.js';

const url = process.env.TEST_DATABASE_URL;

/** Collects the events of one organization that reach a bus. */
function collect(bus: Bus, orgId: string): BusEvent[] {
  const seen: BusEvent[] = [];
  bus.subscribe((e) => {
    if (e.orgId === orgId) seen.push(e);
  });
  return seen;
}

async function until(check: () => boolean, what: () => string, ms = 10_000): Promise<void> {
  await eventually(check, ms, what());
}

/** An entity.saved event told apart by its version `n` (and, for size, a status path of `pad`). */
const saved = (orgId: string, n: number, pad = '') => entitySaved(orgId, { id: `e${n}`, type: 'order', status: 'new', version: n, statusPath: pad ? [pad] : ['new'] });
/** A run.updated event told apart by its id. */
const run = (orgId: string, id: string, error: Failure | null = null) =>
  runUpdated({ id, orgId, process: 'p', entityId: 'e1', entityType: 'order' }, error ? 'failed' : 'running', error);
const versionOf = (e: BusEvent) => (e.type === 'entity.saved' ? e.data.version : -1);

describe('event relay on Postgres', { skip: url ? false : 'needs Postgres: set TEST_DATABASE_URL' }, () => {
  let a: Database;
  let b: Database;
  let busA: Bus;
  let busB: Bus;
  let relayA: EventRelay;
  let relayB: EventRelay;

  before(async () => {
    a = openDatabase({ dialect: 'postgres', url: url!, poolSize: 2 });
    b = openDatabase({ dialect: 'postgres', url: url!, poolSize: 2 });
    busA = new Bus();
    busB = new Bus();
    relayA = new EventRelay(busA, a);
    relayB = new EventRelay(busB, b);
    // Both send and listen, as two `statusflow start` processes do.
    for (const r of [relayA, relayB]) {
      await r.startSending();
      await r.startListening();
    }
    await until(() => relayA.sending && relayB.sending, () => 'each to hear the other listen');
  });
  after(async () => {
    await relayA.stop();
    await relayB.stop();
    await a.close();
    await b.close();
  });

  test('events reach the other process in order, once, and are not echoed back', async () => {
    const orgId = newId();
    const onA = collect(busA, orgId);
    const onB = collect(busB, orgId);
    // Sizes from tiny to ~3 KB so that batches are split into several payloads.
    const sent = Array.from({ length: 400 }, (_, i) => saved(orgId, i, 'x'.repeat((i * 37) % 3000)));
    for (const [i, e] of sent.entries()) {
      busA.publish(e);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // several batches, not one
    }
    // A last event, published after the others: once it is there, anything extra sent before it is too.
    const marker = saved(orgId, 999);
    busA.publish(marker);
    await until(() => onB.includes(marker) || onB.some((e) => versionOf(e) === 999), () => `the marker on B (got ${onB.length})`);
    assert.deepEqual(onB, [...sent, marker]);
    assert.equal(relayA.dropped, 0);

    // And the other way round; A's own events were not echoed back to it before B's arrived.
    busB.publish(saved(orgId, 1000));
    await until(() => onA.some((e) => versionOf(e) === 1000), () => 'the event from B on A');
    assert.deepEqual(onA, [...sent, marker, saved(orgId, 1000)], 'the sender sees its own events once (published locally), not again from the channel');
  });

  test('an oversized error loses its details and the tail of its message; an event that still cannot fit is dropped and counted', async () => {
    const orgId = newId();
    const onB = collect(busB, orgId);
    const before = relayA.dropped;
    const error = { code: 'HTTP_STATUS_500', message: 'm'.repeat(5000), retryable: true, details: { body: 'b'.repeat(20_000) }, cause: { message: 'c'.repeat(5000) } };
    busA.publish(run(orgId, 'r1', error));
    busA.publish(saved(orgId, 1, 'p'.repeat(20_000)));
    busA.publish(saved(orgId, 2));
    // The last one arrived: the one before it, had it been sent, would be there too (events keep their order).
    await until(() => onB.some((e) => versionOf(e) === 2), () => `the last event on B (got ${onB.length})`);
    assert.equal(onB.length, 2);
    assert.equal(onB[0]!.type, 'run.updated');
    const relayed = onB[0]!.data as { id: string; error: { code: string; message: string; retryable: boolean; details?: unknown; cause?: { message: string } } };
    assert.equal(relayed.id, 'r1');
    assert.equal(relayed.error.code, 'HTTP_STATUS_500');
    assert.equal(relayed.error.cause?.message, `${'c'.repeat(1000)}…`);
    assert.equal(relayed.error.retryable, true);
    assert.equal(relayed.error.details, undefined);
    assert.equal(relayed.error.message, `${'m'.repeat(1000)}…`);
    assert.deepEqual(onB[1], saved(orgId, 2));
    assert.equal(relayA.dropped, before + 1);
  });

  test('anything else on the channel is ignored', async () => {
    const orgId = newId();
    const onB = collect(busB, orgId);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const payload of [
        'no newline',
        'x 1\nnot json',
        'x 2\n{"type":"entity.saved"}',
        `x 3\n[{"type":"other","orgId":"${orgId}","data":{}},{"type":"entity.saved","orgId":5,"data":{}},null,7]`,
        `x 3b\n[{"type":"run.updated","orgId":"${orgId}","data":null},{"type":"run.updated","orgId":"${orgId}","data":7},{"type":"run.updated","orgId":"${orgId}"}]`,
        `x 4\n[{"type":"entity.saved","orgId":"${orgId}","data":{"ok":true}}]`,
        `x 5\n[{"type":"entity.saved","orgId":"${orgId}","data":{"last":true}}]`,
      ]) {
        await client.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, payload]);
      }
    } finally {
      await client.end();
    }
    // Notifications of one session arrive in order: once the last is here, the junk before it was seen and dropped.
    await until(() => onB.length >= 2, () => 'the two well-formed events');
    assert.deepEqual(onB as unknown[], [{ type: 'entity.saved', orgId, data: { ok: true } }, { type: 'entity.saved', orgId, data: { last: true } }]);
  });

  test('a subscriber that throws does not take the process down, and later events still arrive', async () => {
    const orgId = newId();
    const unsubscribe = busB.subscribe((e) => {
      if (e.orgId === orgId && e.data.id === 'boom') throw new Error('subscriber failure');
    });
    const onB = collect(busB, orgId);
    try {
      busA.publish(run(orgId, 'boom'));
      busA.publish(run(orgId, 'after'));
      await until(() => onB.some((e) => e.data.id === 'after'), () => 'the event after the failing one');
    } finally {
      unsubscribe();
    }
  });

  test('stop() sends what is waiting first', async () => {
    const orgId = newId();
    const c = openDatabase({ dialect: 'postgres', url: url!, poolSize: 1 });
    const busC = new Bus();
    const relayC = new EventRelay(busC, c);
    await relayC.startSending();
    await until(() => relayC.sending, () => 'the new sender to hear that B listens (B answers its ask)');
    const onB = collect(busB, orgId);
    for (let i = 0; i < 20; i++) busC.publish(saved(orgId, i));
    await relayC.stop();
    await c.close();
    await until(() => onB.length === 20, () => `20 events on B (got ${onB.length})`);
  });
});

describe('event relay with no other listener', { skip: url ? false : 'needs Postgres: set TEST_DATABASE_URL' }, () => {
  // A database of its own: other test files' servers listen on TEST_DATABASE_URL's database.
  const name = `statusflow_relay_${randomBytes(4).toString('hex')}`;
  let own: string;
  before(async () => {
    await pgAdmin(`CREATE DATABASE ${name}`);
    const u = new URL(url!);
    u.pathname = `/${name}`;
    own = u.toString();
  });
  after(async () => {
    await pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  test('a process sends nothing while no other statusflow process listens, and starts when one does', async () => {
    const orgId = newId();
    const spy = new pg.Client({ connectionString: own }); // a plain LISTEN: it does not announce itself
    await spy.connect();
    const heard: string[] = [];
    spy.on('notification', (n) => heard.push(n.payload ?? ''));
    await spy.query(`LISTEN ${EVENTS_CHANNEL}`);
    const sender = openDatabase({ dialect: 'postgres', url: own, poolSize: 1 });
    const bus = new Bus();
    const relay = new EventRelay(bus, sender);
    const listenerDb = openDatabase({ dialect: 'postgres', url: own, poolSize: 1 });
    const otherBus = new Bus();
    const onOther = collect(otherBus, orgId);
    const other = new EventRelay(otherBus, listenerDb);
    try {
      await relay.startSending();
      await relay.startListening(); // a `statusflow start` alone: it hears only itself
      bus.publish(saved(orgId, 1));
      assert.equal(relay.sending, false, 'nobody else listens');

      await other.startListening(); // another API server starts: it says hello
      await until(() => relay.sending, () => 'the sender to hear the new listener');
      bus.publish(saved(orgId, 2));
      await until(() => heard.length >= 1, () => 'the event on the channel');
      // The channel keeps the sender's order: had the first event been sent, it would be heard first.
      assert.match(heard[0]!, /"version":2/);
      assert.doesNotMatch(heard.join('\n'), /"version":1\b/, 'the event published while nobody listened was not sent');
      await until(() => onOther.length === 1, () => 'the event on the other bus');

      // The listening connections break (a Postgres restart, a proxy timeout): they are opened again.
      const spyPid = (await spy.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const listening = async () =>
        (await spy.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%LISTEN statusflow%' AND pid <> $2`, [name, spyPid])).rows.length;
      assert.equal(await listening(), 2);
      await spy.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%LISTEN statusflow%' AND pid <> $2`, [name, spyPid]);
      const waitListening = (want: (n: number) => boolean, what: string) => eventually(async () => want(await listening()), 10_000, what);
      await waitListening((n) => n < 2, 'the listening connections to go');
      await waitListening((n) => n === 2, 'both listening connections to be open again');
      bus.publish(saved(orgId, 3));
      await until(() => onOther.length === 2, () => 'the event after the reconnection on the other bus');
      assert.deepEqual(onOther.map(versionOf), [2, 3]);
    } finally {
      await relay.stop();
      await other.stop();
      await sender.close();
      await listenerDb.close();
      await spy.end();
    }
  });
});

describe('event relay on SQLite', () => {
  let database: TestDatabase;
  before(async () => {
    database = await openTestDatabase('sqlite');
  });
  after(async () => {
    await database.drop();
  });

  test('does nothing: one process, one bus', async () => {
    const bus = new Bus();
    const relay = new EventRelay(bus, database);
    await relay.startSending();
    await relay.startListening();
    const seen = collect(bus, 'o1');
    bus.publish(saved('o1', 1));
    assert.equal(seen.length, 1);
    await relay.stop();
    assert.equal(relay.dropped, 0);
  });
});
