import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delay, delayUntil, DelayInputSchema } from './delay.js';
import { TaskFailure } from '../../domain/failure.js';
import type { TaskContext } from '../types.js';

const T0 = Date.parse('2025-03-01T12:00:00Z');

test('delayUntil: ms after the start, or the evaluated until', () => {
  assert.equal(delayUntil({ ms: 5000 }, T0), T0 + 5000);
  assert.equal(delayUntil({ ms: 0 }, T0), T0);
  assert.equal(delayUntil({ until: '2025-03-01T13:00:00Z' }, T0), T0 + 3_600_000);
  assert.equal(delayUntil({ until: '2025-03-01T14:00:00+01:00' }, T0), T0 + 3_600_000);
  assert.equal(delayUntil({ until: '2025-03-02' }, T0), Date.parse('2025-03-02T00:00:00Z'));
  assert.equal(delayUntil({ until: '2020-01-01T00:00:00Z' }, T0), Date.parse('2020-01-01T00:00:00Z'), 'a past moment: no wait');
});

test('delayUntil: an unreadable or too distant until is a non-retryable INVALID_INPUT', () => {
  for (const until of [undefined, 'tomorrow', 12345, '03/01/2025', '2027-03-01T00:00:00Z']) {
    assert.throws(
      () => delayUntil({ until }, T0),
      (err) => err instanceof TaskFailure && err.failure.code === 'INVALID_INPUT' && !err.failure.retryable,
      String(until),
    );
  }
});

test('run reports what was waited for', async () => {
  const ctx = {} as TaskContext;
  assert.deepEqual(await delay.run({ ms: 250 }, ctx), { waitedMs: 250 });
  assert.deepEqual(await delay.run({ until: '2025-03-01T13:00:00+00:00' }, ctx), { until: '2025-03-01T13:00:00.000Z' });
});

test('input schema: exactly one of ms (0..1 day, integer) and until', () => {
  for (const v of [{ ms: 0 }, { ms: 86_400_000 }, { until: 'entity.follow_up_at' }]) assert.equal(DelayInputSchema.safeParse(v).success, true, JSON.stringify(v));
  for (const v of [{}, { ms: -1 }, { ms: 86_400_001 }, { ms: 1.5 }, { ms: '100' }, { ms: 1, until: 'x' }, { ms: 1, extra: 1 }, { until: '' }]) {
    assert.equal(DelayInputSchema.safeParse(v).success, false, JSON.stringify(v));
  }
  assert.equal(delay.kind, 'delay');
  assert.deepEqual(delay.expressionFields, ['until']);
});
