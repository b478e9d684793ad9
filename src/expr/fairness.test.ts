// One organization's hostile expressions must not fail or starve another's (issue 10, item 3).
// Counts and orders, not durations: the machine this runs on is shared and slow.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createEvaluator, type EvalOutcome, type Evaluator } from './index.js';
import { eventually } from '../../test/support/wait.js';

/** Backtracks for ever on `name`; the worker must be stopped. Not inline ($match is never inline). */
const HANG = '$match(name, /(a|a)+$/)';
const INPUT = { name: 'a'.repeat(40) + '!', items: [1, 2, 3] };
/** Not inline either (a filter), so it goes through the worker. */
const INNOCENT = 'items[$ > 1]';

const values = (outcomes: EvalOutcome[]) => outcomes.map((o) => (o.ok ? o.value : o.error.code));

describe('expression pool: blame and fairness between organizations', () => {
  let evaluator: Evaluator;
  before(async () => {
    evaluator = createEvaluator({ timeoutMs: 500 });
    await evaluator.evaluateMany([INNOCENT], INPUT); // the worker has started
  });
  after(() => evaluator.close());

  it('a finished answer not yet posted is evaluated again, never blamed for the next job', async () => {
    // Sent in one message: the worker finishes the innocent job, then hangs on the next one.
    for (const org of ['b', 'a']) {
      const innocent = evaluator.evaluateMany([INNOCENT], INPUT, { org: 'a' });
      const hostile = evaluator.evaluateMany([HANG], INPUT, { org });
      assert.deepEqual(values(await innocent), [[2, 3]], `hostile call from org ${org}`);
      assert.deepEqual(values(await hostile), ['EXPR_TIMEOUT']);
    }
  });

  it("one organization's backlog of hanging calls does not delay another's call by more than one of them", async () => {
    const settled: string[] = [];
    const hostile = Array.from({ length: 3 }, (_, i) =>
      evaluator.evaluateForEach(HANG, [INPUT], { org: 'b' }).then((o) => {
        settled.push(`b${i}`);
        return o;
      }),
    );
    const innocent = evaluator.evaluateMany([INNOCENT], INPUT, { org: 'a' }).then((o) => {
      settled.push('a');
      return o;
    });
    assert.deepEqual(values(await innocent), [[2, 3]]);
    assert.ok(settled.indexOf('a') <= 1, `settled in this order: ${settled.join(' ')}`);
    for (const outcomes of await Promise.all(hostile)) assert.deepEqual(values(outcomes), ['EXPR_TIMEOUT']);
  });

  it('a call that waits longer than maxWaitMs is answered EXPR_BUSY, not evaluated', async () => {
    const busy = createEvaluator({ timeoutMs: 500, maxWaitMs: 100 });
    try {
      await busy.evaluateMany([INNOCENT], INPUT);
      const hostile = busy.evaluateMany([HANG], INPUT, { org: 'b' });
      const waiting = busy.evaluateMany([INNOCENT], INPUT, { org: 'b' });
      assert.deepEqual(values(await hostile), ['EXPR_TIMEOUT']);
      const [outcome] = await waiting;
      assert.equal(!outcome!.ok && outcome!.error.code, 'EXPR_BUSY');
      assert.match(!outcome!.ok ? outcome!.error.message : '', /busy/);
      // Once the replacement worker is up (its start is not counted against anyone), calls are evaluated again.
      const after = await eventually(
        async () => {
          const outcomes = await busy.evaluateMany([INNOCENT], INPUT, { org: 'b' });
          return outcomes[0]?.ok ? outcomes : undefined;
        },
        10_000,
        'calls to be evaluated again',
      );
      assert.deepEqual(values(after), [[2, 3]]);
    } finally {
      await busy.close();
    }
  });
});
