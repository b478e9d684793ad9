/** The server's heap growth setting (heap.ts): set unless turned off or given to node directly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config.js';
import { applyHeapGrowth } from './heap.js';

test('applyHeapGrowth sets V8 --heap-growing-percent, unless 0 or node was given the flag', () => {
  const set: string[] = [];
  assert.equal(applyHeapGrowth(100, [], (f) => set.push(f)), true);
  assert.equal(applyHeapGrowth(0, [], (f) => set.push(f)), false);
  assert.equal(applyHeapGrowth(100, ['--heap-growing-percent=20'], (f) => set.push(f)), false);
  assert.deepEqual(set, ['--heap-growing-percent=100']);
});

test('STATUSFLOW_HEAP_GROWTH_PERCENT: default, 0 for V8 own, bad values refused', () => {
  assert.equal(loadConfig({}).heapGrowthPercent, 100);
  assert.equal(loadConfig({ STATUSFLOW_HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent, 0);
  assert.throws(() => loadConfig({ STATUSFLOW_HEAP_GROWTH_PERCENT: '-5' }), /STATUSFLOW_HEAP_GROWTH_PERCENT/);
});
