import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, type RetryPolicy } from './retry.js';

const policy: RetryPolicy = { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 5000 };

test('grows exponentially with jitter between half and the whole step', () => {
  assert.equal(backoffMs(policy, 1, undefined, () => 0), 500);
  assert.equal(backoffMs(policy, 1, undefined, () => 1), 1000);
  assert.equal(backoffMs(policy, 2, undefined, () => 1), 2000);
  assert.equal(backoffMs(policy, 3, undefined, () => 0.5), 3000);
});

test('is capped by maxDelayMs', () => {
  assert.equal(backoffMs(policy, 10, undefined, () => 1), 5000);
  assert.equal(backoffMs(policy, 60, undefined, () => 1), 5000);
});

test('a longer Retry-After wins, a shorter one does not shorten the backoff', () => {
  assert.equal(backoffMs(policy, 1, 3000, () => 0), 3000);
  assert.equal(backoffMs(policy, 3, 100, () => 1), 4000);
  assert.equal(backoffMs(policy, 1, 120_000, () => 0), 120_000, 'a provider asking for more than the cap is obeyed');
});
