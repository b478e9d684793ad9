import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitPage, ITEM_OVERHEAD_BYTES, readBudgetedPage } from './page-budget.js';

const rows = (...bytes: number[]) => bytes.map((b, i) => ({ id: `r${i}`, bytes: b - ITEM_OVERHEAD_BYTES }));

test('fitPage: count limit, byte budget, at least one row', () => {
  assert.equal(fitPage(rows(10, 10, 10), 2, 1000), 2);
  assert.equal(fitPage(rows(400, 400, 400), 10, 1000), 2, 'the third would pass the budget');
  assert.equal(fitPage(rows(400, 600, 1), 10, 1000), 2, 'exactly the budget fits');
  assert.equal(fitPage(rows(5000, 1), 10, 1000), 1, 'one row over the budget is still a page');
  assert.equal(fitPage([], 10, 1000), 0);
});

test('readBudgetedPage: reads only the rows that fit, and a cursor when more follow', async () => {
  const asked: string[][] = [];
  const fetch = async (ids: string[]) => (asked.push(ids), ids);
  assert.deepEqual(await readBudgetedPage(rows(600, 600, 600), 5, 1000, fetch), { items: ['r0'], nextId: 'r0' });
  assert.deepEqual(await readBudgetedPage(rows(1, 1, 1), 2, 1000, fetch), { items: ['r0', 'r1'], nextId: 'r1' });
  assert.deepEqual(await readBudgetedPage(rows(1, 1), 2, 1000, fetch), { items: ['r0', 'r1'], nextId: null });
  assert.deepEqual(asked, [['r0'], ['r0', 'r1'], ['r0', 'r1']]);
});
