import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeId, newId } from './ids.js';

/** The 48-bit millisecond part of an id. */
function timeOf(id: string): number {
  return [...id.slice(0, 10)].reduce((t, c) => t * 32 + '0123456789abcdefghjkmnpqrstvwxyz'.indexOf(c), 0);
}

test('ids are 26 base32 characters, strictly increasing, within one millisecond and across many', () => {
  const start = Date.now() + 60_000; // ahead of every id made so far in this process
  let previous = newId(start);
  const seen = new Set([previous]);
  // 100 ids per millisecond over 1,000 milliseconds: many refills of the random pool.
  for (let i = 1; i < 100_000; i++) {
    const id = newId(start + Math.floor(i / 100));
    assert.ok(id > previous, `${id} > ${previous}`);
    previous = id;
    seen.add(id);
  }
  assert.equal(seen.size, 100_000);
  assert.ok([...seen].every(looksLikeId));
  assert.equal(timeOf(previous), start + 999);
});

test('the time part encodes the millisecond; a clock going back keeps the last time', () => {
  const at = Date.now() + 120_000;
  const id = newId(at);
  assert.equal(timeOf(id), at);
  const earlier = newId(at - 5_000);
  assert.equal(timeOf(earlier), at);
  assert.ok(earlier > id);
});

test('the random part differs between milliseconds', () => {
  const at = Date.now() + 180_000;
  const randoms = new Set(Array.from({ length: 1000 }, (_, i) => newId(at + i).slice(10)));
  assert.equal(randoms.size, 1000);
});
