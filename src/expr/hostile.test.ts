// Hostile expressions: each must end in a clean failed outcome within the time limit, and the
// evaluator must answer a normal expression right after. Most reach the worker on purpose,
// bypassing checkExpression, to prove the runtime guards and the worker isolation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { createEvaluator, type EvalOutcome, type Evaluator } from './index.js';

const TIMEOUT_MS = 2000;
/** Slack for timers and a loaded CI machine (a hang would never end; this only bounds the wait). */
const MARGIN_MS = 10_000;
/** When a call must also wait for a replacement worker to start (slow under tsx: it compiles TypeScript). */
const RESTART_MS = 15_000;
const INPUT = { total: 21, name: 'a'.repeat(40) + '!' };

let evaluator: Evaluator;

async function expectFailure(source: string, codes: string[], message?: RegExp): Promise<void> {
  const start = performance.now();
  const [outcome] = await evaluator.evaluateMany([source], INPUT);
  const elapsed = performance.now() - start;
  assert.ok(outcome && !outcome.ok, `${source} should fail, got ${JSON.stringify(outcome)}`);
  assert.ok(codes.includes(outcome.error.code), `${source}: ${outcome.error.code} ${outcome.error.message}`);
  if (message) assert.match(outcome.error.message, message);
  assert.ok(elapsed < TIMEOUT_MS + MARGIN_MS, `${source} took ${elapsed.toFixed(0)} ms`);
  await expectResponsive();
}

async function expectResponsive(): Promise<void> {
  assert.deepEqual(await evaluator.evaluateMany(['total * 2', 'name ~> $length()'], INPUT), [
    { ok: true, value: 42 },
    { ok: true, value: 41 },
  ]);
}

function codes(outcomes: EvalOutcome[]): unknown[] {
  return outcomes.map((o) => (o.ok ? o.value : o.error.code));
}

describe('hostile expressions', () => {
  before(async () => {
    evaluator = createEvaluator({ timeoutMs: TIMEOUT_MS });
    await expectResponsive(); // the worker has started
  });
  after(() => evaluator.close());

  it('catastrophic regex: refused before it runs', async () => {
    await expectFailure("$match('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', /(a+)+$/)", ['EXPR_UNSAFE_REGEX']);
  });

  it('catastrophic regex that the safety check misses: worker stopped at the time limit', async () => {
    await expectFailure('$match(name, /(a|a)+$/)', ['EXPR_TIMEOUT'], new RegExp(`did not finish within ${TIMEOUT_MS} ms`));
  });

  it('regexes that pass both checks yet backtrack exponentially (issue 10): never on the calling thread, stopped in the worker', async () => {
    const slow = { name: 'a'.repeat(50) + '!' }; // ~10 s or more of backtracking for either
    for (const re of [`/${'a{0,16}'.repeat(6)}a*$/`, `/${'[ab]{0,16}'.repeat(6)}[ac]*$/`]) {
      const source = `$contains(name, ${re})`;
      const start = performance.now();
      const [outcome] = await evaluator.evaluateMany([source], slow);
      assert.ok(outcome && !outcome.ok && outcome.error.code === 'EXPR_TIMEOUT', `${source}: ${JSON.stringify(outcome)}`);
      assert.ok(performance.now() - start < TIMEOUT_MS + RESTART_MS);
    }
    await expectResponsive();
  });

  it('uninterruptible built-in (quadratic $distinct): worker stopped at the time limit', async () => {
    await expectFailure('$distinct([1..100000])', ['EXPR_TIMEOUT']);
  });

  it('long but interruptible evaluation: stopped by the soft limit, worker kept', async () => {
    await expectFailure('$sum([1..100000].$count([1..30000]))', ['EXPR_TIMEOUT'], new RegExp(`exceeded the time limit of ${TIMEOUT_MS} ms|did not finish within ${TIMEOUT_MS} ms`));
  });

  it('huge strings from built-ins', async () => {
    await expectFailure('$pad("", 1e8)', ['EXPR_RESOURCE_LIMIT'], /\$pad exceeds the size limit/);
    await expectFailure('$pad("x", -1e8, "ab")', ['EXPR_RESOURCE_LIMIT']);
    await expectFailure("$join([1..5000000].'xxxxxxxx')", ['EXPR_RESOURCE_LIMIT']);
    await expectFailure('$join([1..20].$pad("", 60000, "x"))', ['EXPR_RESOURCE_LIMIT'], /\$join exceeds/);
    await expectFailure('$string([1..20].{"k": $pad("", 60000, "x")})', ['EXPR_RESOURCE_LIMIT'], /\$string/);
  });

  it('huge ranges and sequences', async () => {
    await expectFailure('[1..1e9]', ['EXPR_RESOURCE_LIMIT'], /must not exceed 1e7/);
    await expectFailure('[1..10000000].$string()', ['EXPR_RESOURCE_LIMIT'], /maximum sequence length of 100000/);
    await expectFailure('$count($append([1..60000], [1..60000]))', ['EXPR_RESOURCE_LIMIT']);
  });

  it('string doubling with built-ins only', async () => {
    const doubled = (times: number) => `($s := "xxxxxxxx"; ${'$s := $s & $s; '.repeat(times)}`;
    await expectFailure(`${doubled(20)}$uppercase($s))`, ['EXPR_RESOURCE_LIMIT'], /Argument of \$uppercase exceeds/);
    await expectFailure(`${doubled(20)}$s)`, ['EXPR_RESOURCE_LIMIT'], /Result exceeds/);
    await expectFailure(`${doubled(30)}$s)`, ['EXPR_RESOURCE_LIMIT'], /Invalid string length/);
    const replaced = '$replace('.repeat(8) + '"x"' + ', "x", "xxxxxxxxxx")'.repeat(8);
    await expectFailure(replaced, ['EXPR_RESOURCE_LIMIT'], /\$replace exceeds/);
  });

  it('huge object constructors', async () => {
    await expectFailure('{"a": $pad("", 900000, "x"), "b": $pad("", 900000, "x")}', ['EXPR_RESOURCE_LIMIT'], /Result exceeds/);
    await expectFailure('[1..100000]{$string($): [1..1000]}', ['EXPR_RESOURCE_LIMIT', 'EXPR_TIMEOUT']);
  });

  it('allocation beyond the memory limit: worker replaced', async () => {
    // At 64 MB and the default limit the time limit usually wins; a smaller heap and more time make the crash certain.
    await expectFailure('[1..2000].{"k": [1..100000]}', ['EXPR_RESOURCE_LIMIT', 'EXPR_TIMEOUT']);
    const small = createEvaluator({ timeoutMs: 20_000, maxMemoryMb: 32 });
    try {
      const [outcome] = await small.evaluateMany(['[1..2000].{"k": [1..100000]}'], INPUT);
      assert.deepEqual(outcome, {
        ok: false,
        error: { code: 'EXPR_RESOURCE_LIMIT', message: 'Evaluation ran out of memory (limit 32 MB) and was stopped' },
      });
      assert.deepEqual(await small.evaluateMany(['total'], INPUT), [{ ok: true, value: 21 }]);
    } finally {
      await small.close();
    }
  });

  it('deep nesting and recursion attempts', async () => {
    await expectFailure('('.repeat(300) + '1' + ')'.repeat(300), ['EXPR_RESOURCE_LIMIT'], /deeper than the limit of 200/);
    await expectFailure('['.repeat(1900) + ']'.repeat(1900), ['EXPR_RESOURCE_LIMIT', 'EXPR_SYNTAX']);
    await expectFailure('($f := function($n){ $f($n + 1) }; $f(0))', ['EXPR_FORBIDDEN']);
    await expectFailure('$reduce([1..40], function($a){ $a & $a }, "xx")', ['EXPR_FORBIDDEN']);
    await expectFailure('$eval("$eval(\'1\')")', ['EXPR_FORBIDDEN']);
  });

  it('blames only the expression that hung; the rest of the call and queued calls go on', async () => {
    const start = performance.now();
    const hostile = evaluator.evaluateMany(['total', '$distinct([1..100000])', 'total + 1'], INPUT);
    const queued = Array.from({ length: 20 }, (_, i) => evaluator.evaluateMany(['total + n'], { total: 21, n: i }));
    assert.deepEqual(codes(await hostile), [21, 'EXPR_TIMEOUT', 22]);
    assert.deepEqual((await Promise.all(queued)).map(codes), queued.map((_, i) => [21 + i]));
    assert.ok(performance.now() - start < TIMEOUT_MS + RESTART_MS);
  });

  it('a hostile list filter stops after its first timed-out chunk', async () => {
    const start = performance.now();
    const inputs = Array.from({ length: 500 }, (_, i) => ({ n: i }));
    const outcomes = await evaluator.evaluateForEach('$distinct([1..100000]) and n > 3', inputs);
    assert.equal(outcomes.length, 500);
    assert.ok(outcomes.every((o) => !o.ok && o.error.code === 'EXPR_TIMEOUT'));
    assert.ok(performance.now() - start < TIMEOUT_MS + RESTART_MS);
    await expectResponsive();
  });
});
