import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FINISHED, RUN_MOVES, RUN_STATUSES, assertWorkerMove, canMove, statusesBefore, type RunStatus } from './run-states.js';

/** Every (from → to) pair the machine allows, as text, sorted. */
function allowed(): string[] {
  const out: string[] = [];
  for (const from of RUN_STATUSES) for (const to of RUN_STATUSES) if (canMove(from, to)) out.push(`${from}→${to}`);
  return out.sort();
}

test('the machine has exactly the documented moves', () => {
  assert.deepEqual(allowed(), [
    'cancelled→queued',
    'failed→queued',
    'queued→cancelled',
    'queued→running',
    'running→cancelled',
    'running→failed',
    'running→queued',
    'running→running',
    'running→succeeded',
    'running→waiting',
    'waiting→cancelled',
    'waiting→running',
  ]);
});

test('a succeeded run never moves; failed and cancelled ones only back to the queue', () => {
  for (const to of RUN_STATUSES) assert.equal(canMove('succeeded', to), false, `succeeded→${to}`);
  for (const from of ['failed', 'cancelled'] as RunStatus[]) {
    assert.deepEqual(RUN_STATUSES.filter((to) => canMove(from, to)), ['queued'], from);
  }
  assert.deepEqual([...FINISHED].sort(), ['cancelled', 'failed', 'succeeded']);
});

test('only a running run finishes, and nothing reaches waiting but a running run', () => {
  for (const to of ['succeeded', 'failed', 'waiting'] as RunStatus[]) assert.deepEqual(statusesBefore(to), ['running'], to);
  assert.deepEqual(statusesBefore('cancelled'), ['queued', 'running', 'waiting']);
  assert.deepEqual(statusesBefore('queued'), ['running', 'failed', 'cancelled']);
});

test('each named move goes somewhere its from-statuses may go, and no move starts from succeeded', () => {
  for (const [name, m] of Object.entries(RUN_MOVES)) {
    assert.ok(m.from.length > 0, name);
    assert.ok(!(m.from as readonly string[]).includes('succeeded'), name);
  }
  assert.deepEqual(RUN_MOVES.requeueForRetry.from, ['failed', 'cancelled']);
  assert.deepEqual(RUN_MOVES.cancelNotStarted.from, ['queued', 'waiting']);
});

test('assertWorkerMove accepts every move out of running and refuses a status the machine does not know', () => {
  for (const to of ['waiting', 'succeeded', 'failed', 'cancelled', 'queued', 'running'] as RunStatus[]) assert.doesNotThrow(() => assertWorkerMove(to), to);
  assert.throws(() => assertWorkerMove('nonsense' as RunStatus), /cannot move from running to nonsense/);
});
