import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from './keyed-lock.js';
import { eventLoopTurns } from '../../test/support/wait.js';

test('runs callers of one key one at a time, in arrival order, and others in parallel', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  // Each step holds its key until the test lets it end: the order is the test's, not the timers'.
  const ends = new Map<string, () => void>();
  const step = (name: string) => async () => {
    log.push(`start ${name}`);
    await new Promise<void>((r) => ends.set(name, r));
    log.push(`end ${name}`);
    return name;
  };
  const results = Promise.all([lock.run('a', step('a1')), lock.run('a', step('a2')), lock.run('b', step('b1'))]);
  // The lock works without I/O: a turn of the event loop is all it takes to start whatever may start.
  await eventLoopTurns(1);
  assert.deepEqual(log, ['start a1', 'start b1'], 'a2 waits for a1; b1 does not');
  ends.get('b1')!();
  ends.get('a1')!();
  await eventLoopTurns(1);
  assert.deepEqual(log, ['start a1', 'start b1', 'end b1', 'end a1', 'start a2']);
  ends.get('a2')!();
  assert.deepEqual(await results, ['a1', 'a2', 'b1']);
});

test('a failing caller releases the key', async () => {
  const lock = new KeyedLock();
  await assert.rejects(lock.run('k', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await lock.run('k', async () => 7), 7);
});
