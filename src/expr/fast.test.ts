import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import jsonata from 'jsonata';
import { compileFast, NO_ANSWER } from './fast.js';
import { cheap } from './inline.js';
import type { AstNode } from './policy.js';

const MAX = 200;
const fast = (source: string) => compileFast(jsonata(source).ast() as AstNode, MAX);

/** JSONata's own answer, or 'error'. */
async function reference(source: string, input: unknown): Promise<unknown> {
  try {
    return { value: await jsonata(source).evaluate(input) };
  } catch {
    return 'error';
  }
}

describe('fast path: compiled closures give exactly what JSONata gives, or no answer', () => {
  it('compiles the usual requirement shapes, and answers them on scalar data', () => {
    const input = { order_number: 'ORD-42', total: 12.5, customer_email: 'a@x', paid: true, channel: 'web', entity: { status: 'new' } };
    const cases: Array<[string, unknown]> = [
      ['$contains(order_number, /^ORD-[0-9]+$/)', true],
      ["$exists(customer_email) and customer_email != ''", true],
      ['total > 0', true],
      ['paid = true', true],
      ['(total > 0) and (paid or $not(channel = "web"))', true],
      ['entity.status in ["new", "received"]', true],
      ['total * 2 - 5', 20],
      ['$length(order_number) >= 5 ? "long" : "short"', 'long'],
      ['$uppercase(channel) & "-" & order_number', 'WEB-ORD-42'],
      ['missing > 3', undefined],
      ['-total', -12.5],
      ["{ 'dealname': 'Order ' & order_number, 'amount': $string(total), 'none': missing }", { dealname: 'Order ORD-42', amount: '12.5' }],
      ['$string(total * 3)', '37.5'],
      ['$string(paid)', 'true'],
    ];
    for (const [source, expected] of cases) {
      const f = fast(source);
      assert.ok(f, `compiled: ${source}`);
      assert.deepEqual(f(input), expected, source);
    }
  });

  it('gives no answer where JSONata has its own rules: arrays, objects, errors, non-finite numbers, long strings', () => {
    const cases: Array<[string, unknown]> = [
      ['items', { items: [1] }], // a one-item sequence is unwrapped by JSONata
      ['a = b', { a: { x: 1 }, b: { x: 1 } }], // deep equality
      ['a > 1', { a: true }], // T2010
      ['a > b', { a: 1, b: 'x' }], // T2009
      ['a + 1', { a: 'x' }], // T2001
      ['a / b', { a: 1, b: 0 }], // Infinity
      ['a & b', { a: 1.1, b: 'x' }], // JSONata formats the number
      ['$contains(a, /x/)', { a: 'x'.repeat(5_000) }], // regex on a long string
      ['$length(a)', { a: 5 }], // T0410
      ['a', { a: 'x'.repeat(MAX + 1) }],
    ];
    for (const [source, input] of cases) assert.equal(fast(source)!(input), NO_ANSWER, source);
    assert.equal(fast('$sum(items)'), undefined, 'not compiled: JSONata inline evaluates it');
    assert.equal(fast('$$.a'), undefined);
    assert.equal(fast('{ "a": 1, "a": 2 }'), undefined, 'two pairs with one key: JSONata D1009');
    assert.equal(fast('{ a: 1 }'), undefined, 'a key that is not a literal');
    assert.equal(fast('{ "a": { "b": 1 } }'), undefined, 'objects only at the top');
    assert.equal(fast('{ "a": b }')!({ b: 'x'.repeat(MAX) }), NO_ANSWER, 'possibly over the result size limit');
  });

  // Random expressions over a few names, against random inputs: wherever the closure answers, JSONata agrees.
  const names = ['a', 'b', 'c', 'a.b', 'entity.status'];
  const leaf = fc.oneof(
    fc.constantFrom(...names),
    fc.constantFrom('0', '1', '-2.5', '1e3', 'true', 'false', 'null', '""', '"x"', '"ORD-1"', '"é😀"'),
  );
  const { expr } = fc.letrec((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.tuple(tie('expr'), fc.constantFrom('and', 'or', '=', '!=', '<', '<=', '>', '>=', '+', '-', '*', '/', '%', '&'), tie('expr')).map(([l, op, r]) => `(${l} ${op} ${r})`),
      fc.tuple(tie('expr'), fc.constantFrom('in ["x", 1, null, true]', 'in "x"', 'in 1')).map(([l, r]) => `(${l} ${r})`),
      fc.tuple(tie('expr'), tie('expr'), fc.option(tie('expr'), { nil: undefined })).map(([c, t, e]) => (e === undefined ? `(${c} ? ${t})` : `(${c} ? ${t} : ${e})`)),
      tie('expr').map((e) => `-(${e})`),
      fc.tuple(fc.constantFrom('exists', 'boolean', 'not', 'length', 'lowercase', 'uppercase', 'string'), tie('expr')).map(([f, e]) => `$${f}(${e})`),
      fc.tuple(tie('expr'), fc.constantFrom('"x"', '"ORD"', '/^ORD-[0-9]+$/', '/x/i', '/^$/', 'a')).map(([s, t]) => `$contains(${s}, ${t})`),
    ),
  }));
  // Object constructors (a task's input mapping) at the top, with keys that may repeat or be special.
  const objectExpr = fc
    .array(fc.tuple(fc.constantFrom('"k"', '"x"', '"1"', '"__proto__"', '"constructor"'), expr), { minLength: 1, maxLength: 3 })
    .map((pairs) => `{ ${pairs.map(([k, v]) => `${k}: ${v}`).join(', ')} }`);
  const scalarValue = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.constantFrom(0, -0, 1, -2.5, 1e3, 0.1, 3),
    fc.constantFrom('', 'x', 'X', 'ORD-1', 'ORD-x', 'é😀', '\ud83d'),
    fc.string({ maxLength: 8 }),
  );
  const value = fc.oneof({ weight: 6, arbitrary: scalarValue }, { weight: 1, arbitrary: fc.array(scalarValue, { maxLength: 2 }) }, { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('b', 'x'), scalarValue, { maxKeys: 2 }) });
  const input = fc.record(
    { a: fc.oneof(value, fc.record({ b: scalarValue })), b: value, c: value, entity: fc.record({ status: scalarValue }) },
    { requiredKeys: [] },
  );

  it('agrees with JSONata on generated expressions and inputs', async () => {
    let answered = 0;
    let total = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: expr }, { weight: 1, arbitrary: objectExpr }), input, async (source, data) => {
        // undefined-valued keys are not JSON: drop them, as a parsed body would not have them
        const json = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
        const ast = jsonata(source).ast() as AstNode;
        if (!cheap(ast)) return;
        const f = compileFast(ast, MAX);
        total++;
        if (!f) return;
        const got = f(json);
        if (got === NO_ANSWER) return;
        answered++;
        // JSONata makes objects without a prototype; what callers get is a plain copy (copyPlain), as from the closures.
        assert.deepEqual({ value: got }, structuredClone(await reference(source, json)), source);
      }),
      { numRuns: Number(process.env.FAST_RUNS ?? 3_000) },
    );
    // The property means something only if the closures do answer often (about 36% of these random cases: many are JSONata errors).
    assert.ok(answered > total / 5, `answered ${answered} of ${total}`);
    if (process.env.FAST_RUNS) console.log(`answered ${answered} of ${total}`);
  });
});
