import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Batch } from './batch-api.js';
import { duration, etaSeconds, plainReporter, progressLine, RateMeter } from './progress.js';

const batch = (over: Partial<Batch>): Batch => ({
  id: 'b', process: 'p', filter: {}, status: 'running', total: 40, pending: 0, queued: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0,
  createdAt: '', createdBy: null, startedAt: null, finishedAt: null, etaSeconds: null, ...over,
});

test('RateMeter: items ended per second over the window; null until two samples 200 ms apart', () => {
  const m = new RateMeter(10_000);
  m.add(0, 1000);
  assert.equal(m.perSecond(), null);
  m.add(5, 1100);
  assert.equal(m.perSecond(), null);
  m.add(20, 3000);
  assert.equal(m.perSecond(), 10);
  m.add(20, 20_000);
  // Samples older than the window go: 20 → 20 over the last stretch.
  assert.equal(m.perSecond(), 0);
});

test('ETA: the server estimate first, else what the rate gives; duration text', () => {
  assert.equal(etaSeconds(batch({ etaSeconds: 12 }), 100), 12);
  assert.equal(etaSeconds(batch({ succeeded: 10 }), 3), 10);
  assert.equal(etaSeconds(batch({}), null), null);
  assert.equal(etaSeconds(batch({ status: 'completed', etaSeconds: null }), null), 0);
  assert.deepEqual([duration(null), duration(4.4), duration(95), duration(7260)], ['?', '4s', '1m35s', '2h01m']);
  assert.equal(
    progressLine(batch({ succeeded: 11, failed: 1, etaSeconds: 7 }), 3400, 3.94),
    '[0:03] 12/40 (30%)  succeeded 11  failed 1  skipped 0  cancelled 0  3.9/s  ETA 7s  running',
  );
});

test('plain reporter: the first state at once, then at most one line a second, nothing when nothing changed, the last on stop', async () => {
  let clock = 0;
  const lines: string[] = [];
  const r = plainReporter((l) => lines.push(l), 1000, () => clock);
  r.update(batch({ succeeded: 1 }));
  assert.equal(lines.length, 1);
  clock = 300;
  r.update(batch({ succeeded: 2 }));
  clock = 600;
  r.update(batch({ succeeded: 3 }));
  assert.equal(lines.length, 1, 'held back within the second');
  r.stop();
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /^\[0:00\] 3\/40 /);
  r.stop();
  assert.equal(lines.length, 2, 'the same state is not printed twice');
  clock = 5000;
  r.update(batch({ succeeded: 3 }));
  assert.equal(lines.length, 2, 'no line when nothing changed');
  r.update(batch({ succeeded: 3, status: 'paused' }));
  assert.equal(lines.length, 3);
  assert.match(lines[2]!, /paused$/);
});
