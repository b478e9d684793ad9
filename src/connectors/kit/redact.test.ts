import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redact, REDACTED, secretStrings } from './redact.js';

test('secretStrings: values and the token after an auth scheme, longest first; short values are left alone', () => {
  assert.deepEqual(secretStrings(['Bearer abcdef123', 'k-9', { nested: 'xyz-12345' }]), ['Bearer abcdef123', 'abcdef123', 'xyz-12345']);
  assert.deepEqual(secretStrings([]), []);
});

test('redact replaces every occurrence in strings and keys, deep, and leaves other values alone', () => {
  const secrets = secretStrings(['Bearer abcdef123']);
  const value = { a: 'token Bearer abcdef123 and abcdef123', list: [1, true, null, 'abcdef123'], abcdef123: { deep: 'x abcdef123' } };
  assert.deepEqual(redact(value, secrets), { a: `token ${REDACTED} and ${REDACTED}`, list: [1, true, null, REDACTED], [REDACTED]: { deep: `x ${REDACTED}` } });
  assert.equal(redact(value, []), value);
  assert.equal(redact('nothing here', secrets), 'nothing here');
});
