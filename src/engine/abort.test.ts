import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onceAborted } from './abort.js';

test('onceAborted: every waiter still waiting hears the abort once; one that stopped waiting does not; after the abort, at once', () => {
  const c = new AbortController();
  const heard: string[] = [];
  onceAborted(c.signal, () => heard.push('a'));
  const stop = onceAborted(c.signal, () => heard.push('b'));
  onceAborted(c.signal, () => {
    throw new Error('a failing waiter');
  });
  onceAborted(c.signal, () => heard.push('c'));
  stop();
  c.abort();
  c.abort();
  assert.deepEqual(heard, ['a', 'c']);
  onceAborted(c.signal, () => heard.push('late'))();
  assert.deepEqual(heard, ['a', 'c', 'late']);
});
