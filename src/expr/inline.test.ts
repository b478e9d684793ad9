import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import jsonata from 'jsonata';
import { cheap, InlineEvaluator, MAX_INPUT_VALUES, smallInput, STRIKES } from './inline.js';
import { createEvaluator } from './pool.js';
import type { AstNode } from './policy.js';

const LIMITS = { timeoutMs: 1000, maxResultBytes: 1_000_000, maxSequence: 100_000, maxDepth: 200 };
const isCheap = (source: string) => cheap(jsonata(source).ast() as AstNode);

describe('inline evaluation: which expressions are cheap by construction', () => {
  it('accepts the usual requirements and mappings', () => {
    for (const source of [
      'total > 0',
      '$exists(email) and email != ""',
      'paid = true or status in ["a", "b"]',
      "{ 'title': title, 'id': entity.id, 'n': $count(items) }",
      '$sum(items.price) * 1.2 >= 100 ? "big" : "small"',
      '$lowercase($trim(name)) & "-" & $string(n)',
      '$$.customer.email',
      '-a + b % 3',
      '(total > 0) and (paid or $not(channel = "web"))',
    ]) {
      assert.ok(isCheap(source), source);
    }
  });

  it('refuses anything that can iterate more than once per input value, or build big values', () => {
    for (const source of [
      'items[price > 0]', // a filter evaluates an expression per item
      'items.(price * qty)', // a block per item
      '$sort(items, function($a, $b) { $a > $b })',
      '[1..1000000]',
      '$pad("", 1000000)',
      '$match(name, /a+/)',
      '$replace(name, "a", "b")',
      'items^(price)',
      'items{category: price}',
      '($x := 1; $x)',
      'items@$i.price',
      'items#$i.price',
      '$map(items, $string)',
      '$eval("1")',
      Array.from({ length: 40 }, (_, i) => `a${i}`).join(' + '), // over the node budget
    ]) {
      assert.equal(isCheap(source), false, source);
    }
  });

  it('accepts regular expressions proven linear per start (regex.ts), and only those', () => {
    assert.equal(isCheap('$contains(order_number, /^ORD-[0-9]+$/)'), 'regex');
    // issue 10: adjacent quantifiers over the same characters backtrack exponentially; the worker takes them.
    assert.equal(isCheap('$contains(name, /^a{1,3}a{1,3}a{1,3}a{1,3}a*$/)'), false);
    assert.equal(isCheap('$contains(name, /a{0,16}a{0,16}a{0,16}a{0,16}a*$/)'), false);
    // The comparisons of one expression share one budget (they cost time when the expression is compiled).
    const many = Array.from({ length: 12 }, (_, i) => `$contains(s${i}, /x?y?z?w?q/)`).join(' and ');
    assert.equal(isCheap(many), false);
  });

  it('leaves large inputs and values a worker cannot receive to the worker', () => {
    assert.ok(smallInput({ a: 1, b: [1, 2, 3], c: { d: 'x' } }));
    assert.equal(smallInput({ items: Array.from({ length: MAX_INPUT_VALUES }, (_, i) => i) }), false);
    assert.equal(smallInput({ s: 'x'.repeat(20_000) }), false);
    assert.equal(smallInput({ f: () => 1 }), false);
  });
});

describe('inline evaluation agrees with the worker', () => {
  const worker = createEvaluator({ inline: false });
  // A generous budget: here the point is the outcomes, not the time limit (tested below).
  const inline = new InlineEvaluator(LIMITS, 1_000);
  after(() => worker.close());

  const inputs = [
    { order_number: 'ORD-42', total: 12.5, email: 'a@example.com', paid: true, status: 'a', name: '  Ada ', n: 3, items: [{ price: 2 }, { price: 3.5 }], customer: { email: 'c@x' } },
    { order_number: 'ord-x', total: 0, email: '', paid: false, items: [], n: null },
    { total: 'twelve', items: { price: 'x' } },
    {},
  ];
  const sources = [
    'total > 0',
    '$exists(email) and email != ""',
    'paid = true or status in ["a", "b"]',
    "{ 'email': email, 'n': $count(items), 'sum': $sum(items.price) }",
    '$sum(items.price) * 1.2 >= 5 ? "big" : "small"',
    '$lowercase($trim(name)) & "-" & $string(n)',
    '$$.customer.email',
    'total + 1',
    '$number(total)',
    'items.price',
    '[total, n]',
    'missing',
    '$length(name)',
    '$contains(order_number, /^ORD-[0-9]+$/)',
  ];

  for (const [k, input] of inputs.entries()) {
    it(`same outcomes on input ${k}`, async () => {
      const expected = await worker.evaluateMany(sources, input);
      const got = await inline.evaluateMany(sources, input);
      assert.ok(got, 'evaluated inline');
      assert.deepEqual(got, expected);
    });
  }

  it('with a regular expression, inputs holding long strings go to the worker', async () => {
    const source = '$contains(order_number, /^ORD-[0-9]+$/)';
    assert.deepEqual(await inline.evaluateMany([source], { order_number: 'ORD-1' }), [{ ok: true, value: true }]);
    // The fast path runs the regex on order_number only, so a long string elsewhere does not matter to it…
    assert.deepEqual(await inline.evaluateMany([source], { order_number: 'ORD-1', note: 'x'.repeat(5_000) }), [{ ok: true, value: true }]);
    // …but a long string under the regex does: the worker.
    assert.equal(await inline.evaluateMany([source], { order_number: `ORD-${'1'.repeat(5_000)}` }), undefined);
    // So does a long string built by the expression from short ones (only the call can tell).
    const built = '$contains(a & a & a & a & a & a, /[0-9]+x/)';
    assert.deepEqual(await inline.evaluateMany([built], { a: '1'.repeat(100) }), [{ ok: true, value: false }]);
    assert.equal(await inline.evaluateMany([built], { a: '1'.repeat(900) }), undefined);
  });

  it('an expression that runs out of its inline budget is sent to the worker from then on', async () => {
    const slow = new InlineEvaluator(LIMITS, 1);
    const source = Array.from({ length: 12 }, () => '$sum(items.a)').join(' + ');
    const input = { items: Array.from({ length: 600 }, (_, i) => ({ a: i })) };
    let outcome = await slow.evaluateMany([source], input);
    for (let i = 0; i < 50 && outcome !== undefined; i++) outcome = await slow.evaluateMany([source], input);
    assert.equal(outcome, undefined, 'handed to the worker');
    // After STRIKES such calls it is not tried inline again.
    for (let i = 1; i < STRIKES; i++) await slow.evaluateMany([source], input);
    assert.equal(await slow.evaluateMany([source], { items: [] }), undefined, 'and stays there');
    assert.deepEqual(await slow.evaluateMany(['1 + 1'], {}), [{ ok: true, value: 2 }]);
  });
});
