import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKey, KEY_PATTERN, RESERVED_ATTRIBUTE_KEYS } from './keys.js';

test('keys: lower-case letter first, then up to 62 of [a-z0-9_]', () => {
  for (const ok of ['a', 'order', 'order_number', 'x1', 'a'.repeat(63)]) assert.ok(isKey(ok), ok);
  for (const bad of ['', '1a', '_a', 'A', 'orderNumber', 'a-b', 'a b', 'é', 'a'.repeat(64), 'a\n', 3, null, undefined]) {
    assert.ok(!isKey(bad), String(bad));
  }
  assert.equal(KEY_PATTERN.source, '^[a-z][a-z0-9_]{0,62}$');
});

test('reserved attribute keys are the expression context names, and are valid keys themselves', () => {
  assert.deepEqual([...RESERVED_ATTRIBUTE_KEYS], ['entity', 'tasks', 'run', 'links', 'now']);
  for (const k of RESERVED_ATTRIBUTE_KEYS) assert.ok(isKey(k));
});
