import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from './keyed-lock.js';

test('runs callers of one key one at a time, in arrival order, and others in parallel', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const step = (name: string, ms: number) => async () => {
    log.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`end ${name}`);
    return name;
  };
  const results = await Promise.all([lock.run('a', step('a1', 20)), lock.run('a', step('a2', 1)), lock.run('b', step('b1', 5))]);
  assert.deepEqual(results, ['a1', 'a2', 'b1']);
  assert.ok(log.indexOf('end a1') < log.indexOf('start a2'));
  assert.ok(log.indexOf('start b1') < log.indexOf('end a1'));
});

test('a failing caller releases the key', async () => {
  const lock = new KeyedLock();
  await assert.rejects(lock.run('k', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await lock.run('k', async () => 7), 7);
});
