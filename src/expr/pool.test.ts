import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createEvaluator, type Evaluator } from './index.js';

const ORDER = { order_number: 'ORD-42', customer_email: 'buyer@example.com', total: 12.5, paid: true };
const ORDER_REQUIREMENTS = [
  '$contains(order_number, /^ORD-[0-9]+$/)',
  "$exists(customer_email) and customer_email != ''",
  'total > 0',
  'paid = true',
];

describe('createEvaluator', () => {
  let evaluator: Evaluator;
  before(() => {
    evaluator = createEvaluator({ threads: 2 });
  });
  after(() => evaluator.close());

  it('evaluates the Order requirements', async () => {
    assert.deepEqual(await evaluator.evaluateMany(ORDER_REQUIREMENTS, ORDER), [
      { ok: true, value: true },
      { ok: true, value: true },
      { ok: true, value: true },
      { ok: true, value: true },
    ]);
    const draft = { order_number: 'X-1', customer_email: '', total: 0 };
    const values = (await evaluator.evaluateMany(ORDER_REQUIREMENTS, draft)).map((o) => o.ok && o.value);
    assert.deepEqual(values, [false, false, false, false]);
  });

  it('returns undefined for missing values, and plain arrays for sequences', async () => {
    const [missing, sequence, object] = await evaluator.evaluateMany(
      ['missing_field', 'lines.amount', '{"n": $count(lines), "first": lines[0]}'],
      { lines: [{ amount: 1 }, { amount: 2 }] },
    );
    assert.deepEqual(missing, { ok: true, value: undefined });
    assert.deepEqual(sequence, { ok: true, value: [1, 2] });
    assert.equal(Object.keys((sequence as { value: unknown[] }).value).length, 2); // no `sequence` flag left
    assert.deepEqual(object, { ok: true, value: { n: 2, first: { amount: 1 } } });
  });

  it('turns evaluation errors and non-values into failed outcomes', async () => {
    const outcomes = await evaluator.evaluateMany(['total + "x"', '$uppercase', '$error("nope")', 'total'], ORDER);
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? o.value : o.error.code)),
      ['EXPR_EVAL_ERROR', 'EXPR_EVAL_ERROR', 'EXPR_EVAL_ERROR', 12.5],
    );
    const [typeError] = outcomes;
    assert.match(!typeError!.ok ? typeError!.error.message : '', /must evaluate to a number \(T2002\)/);
  });

  it('applies the definition-time policy to what it evaluates', async () => {
    const outcomes = await evaluator.evaluateMany(
      ['total >', '$eval("1")', 'function($x){$x}(1)', "$match('aaaa!', /(a+)+$/)", '($string := 1; 2)', 'x'.repeat(5000)],
      ORDER,
    );
    assert.deepEqual(
      outcomes.map((o) => !o.ok && o.error.code),
      ['EXPR_SYNTAX', 'EXPR_FORBIDDEN', 'EXPR_FORBIDDEN', 'EXPR_UNSAFE_REGEX', 'EXPR_FORBIDDEN', 'EXPR_TOO_LONG'],
    );
    assert.match(!outcomes[0]!.ok ? outcomes[0]!.error.message : '', /line 1, column 8/);
  });

  it('evaluates one expression against many inputs, in order, across chunks', async () => {
    const inputs = Array.from({ length: 300 }, (_, i) => ({ total: i }));
    const outcomes = await evaluator.evaluateForEach('total * 2', inputs);
    assert.deepEqual(outcomes.map((o) => o.ok && o.value), inputs.map((x) => x.total * 2));
    assert.deepEqual(await evaluator.evaluateForEach('total', []), []);
    assert.deepEqual(await evaluator.evaluateMany([], ORDER), []);
  });

  it('keeps up with many concurrent callers', async () => {
    const calls = Array.from({ length: 500 }, (_, i) => evaluator.evaluateMany(['n * 2', 'n > 250'], { n: i }));
    const results = await Promise.all(calls);
    results.forEach((outcomes, i) => assert.deepEqual(outcomes, [{ ok: true, value: i * 2 }, { ok: true, value: i > 250 }]));
  });

  it('rejects only the call whose input cannot be sent to a worker', async () => {
    // $number is not on the fast path (fast.ts), which never looks at values it does not read.
    const good = evaluator.evaluateMany(['$number(n)'], { n: 1 });
    const bad = evaluator.evaluateMany(['$number(n)'], { n: 1, f: () => 1 });
    await assert.rejects(bad, /could not be cloned/);
    assert.deepEqual(await good, [{ ok: true, value: 1 }]);
  });

  it('uses the time of evaluation for $now() and accepts a `now` context field', async () => {
    const [now, field] = await evaluator.evaluateMany(['$now()', 'now'], { now: '2025-01-01T00:00:00Z' });
    assert.ok(now?.ok && typeof now.value === 'string' && Math.abs(Date.parse(now.value) - Date.now()) < 60_000);
    assert.deepEqual(field, { ok: true, value: '2025-01-01T00:00:00Z' });
  });
});

describe('createEvaluator: lifecycle', () => {
  it('rejects calls after close, and pending calls on close', async () => {
    const evaluator = createEvaluator();
    const pending = assert.rejects(evaluator.evaluateMany(['1'], {}), /Evaluator is closed/);
    await evaluator.close();
    await pending;
    await assert.rejects(evaluator.evaluateMany(['1'], {}), /Evaluator is closed/);
    await evaluator.close(); // idempotent
  });

  it('does not keep the process alive, even without close()', () => {
    const index = JSON.stringify(new URL('./index.ts', import.meta.url).href);
    const script = `import { createEvaluator } from ${index};
      console.log(JSON.stringify(await createEvaluator().evaluateMany(['1 + 1'], {})));
      createEvaluator(); // still starting its worker`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 15_000, encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), '[{"ok":true,"value":2}]');
  });

  it('validates its options', () => {
    assert.throws(() => createEvaluator({ threads: 0 }), /threads must be a positive number/);
    assert.throws(() => createEvaluator({ timeoutMs: Number.NaN }), /timeoutMs/);
  });
});
