import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failure, TaskFailure } from '../../domain/failure.js';
import type { BatchMember, BatchOutcome, TaskContext, TaskKind } from '../../connectors/types.js';
import { taskContext } from '../../../test/support/connection-context.js';
import { ARRIVAL_WAIT_MS, Batcher, CALLS_IN_FLIGHT } from './batcher.js';
import { eventually } from '../../../test/support/wait.js';

/** A batchable kind whose calls the test answers by hand: `calls` holds each call's members and its resolver. */
function kind(maxSize = 100, keyOf: (input: Record<string, unknown>) => string | null = () => 'k', maxCallsInFlight?: number) {
  const calls: Array<{ members: readonly BatchMember[]; signal: AbortSignal; answered: boolean; answer(o?: BatchOutcome[] | Error): void }> = [];
  let lone = 0;
  const k: TaskKind = {
    kind: 'test.batchable',
    inputSchema: undefined as never,
    expressionFields: [],
    // The single-record path: a call of one goes through it, and so does a step the kind does not plan.
    run(input, ctx) {
      lone++;
      return new Promise((resolve, reject) => {
        const call = {
          members: [{ item: input.n, ctx }],
          signal: ctx.signal,
          answered: false,
          answer: (o?: BatchOutcome[] | Error) => {
            call.answered = true;
            if (o instanceof Error) reject(o);
            else if (o?.[0] && !o[0].ok) reject(o[0].error);
            else resolve(`out ${String(input.n)}`);
          },
        };
        calls.push(call);
      });
    },
    batch: {
      maxSize,
      ...(maxCallsInFlight !== undefined ? { maxCallsInFlight } : {}),
      async plan(input) {
        const key = keyOf(input);
        return key === null ? null : { key, item: input.n, ...(input.id !== undefined ? { identity: String(input.id) } : {}) };
      },
      runMany(members, signal) {
        return new Promise((resolve, reject) => {
          const call = {
            members,
            signal,
            answered: false,
            answer: (o?: BatchOutcome[] | Error) => {
              call.answered = true;
              if (o instanceof Error) reject(o);
              else resolve(o ?? members.map((m) => ({ ok: true, output: `out ${String(m.item)}` })));
            },
          };
          calls.push(call);
        });
      },
    },
  };
  return { k, calls, lone: () => lone };
}

const ctx = (signal?: AbortSignal): TaskContext => taskContext(undefined, {}, signal);
const tick = () => new Promise((r) => setImmediate(r));

test('a lone step goes out at once; steps that arrive while its call is in flight share the next call', async () => {
  const { k, calls } = kind();
  const b = new Batcher();
  const first = b.run(k, { n: 0 }, ctx());
  await tick();
  assert.equal(calls.length, 1, 'the lone step did not wait for a window');
  assert.deepEqual(b.counters, { calls: 1, members: 1, immediate: 1, largest: 1, abandoned: 0, concurrent: 0, inFlightMax: 1 });
  const rest = Array.from({ length: 5 }, (_, i) => b.run(k, { n: i + 1 }, ctx()));
  await tick();
  assert.equal(calls.length, 1, 'the others gather while the first call is in flight');
  assert.equal(b.holding, 6);
  calls[0]!.answer();
  assert.equal(await first, 'out 0');
  await tick();
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1]!.members.map((m) => m.item), [1, 2, 3, 4, 5]);
  calls[1]!.answer();
  assert.deepEqual(await Promise.all(rest), ['out 1', 'out 2', 'out 3', 'out 4', 'out 5']);
  assert.deepEqual(b.counters, { calls: 2, members: 6, immediate: 1, largest: 5, abandoned: 0, concurrent: 0, inFlightMax: 1 });
  assert.equal(b.holding, 0);
});

test('calls carry at most maxSize steps, and never two with the same identity', async () => {
  const { k, calls } = kind(3);
  const b = new Batcher();
  const all = [b.run(k, { n: 0 }, ctx()), ...[1, 2, 3, 4, 5].map((n) => b.run(k, { n, id: n === 2 ? 1 : n }, ctx()))];
  await tick();
  calls[0]!.answer();
  await tick();
  assert.deepEqual(calls[1]!.members.map((m) => m.item), [1, 3, 4], 'n=2 has the identity of n=1');
  calls[1]!.answer();
  await tick();
  assert.deepEqual(calls[2]!.members.map((m) => m.item), [2, 5]);
  calls[2]!.answer();
  assert.equal((await Promise.all(all)).length, 6);
});

test('each step gets its own outcome; a thrown call fails every member with its failure', async () => {
  const { k, calls } = kind();
  const b = new Batcher();
  const a = b.run(k, { n: 'a' }, ctx());
  await tick();
  const refused = failure('HUBSPOT_VALIDATION_ERROR', 'bad value', false);
  calls[0]!.answer([{ ok: false, error: refused }]);
  await assert.rejects(a, (e) => e === refused);
  const x = b.run(k, { n: 'x' }, ctx());
  await tick();
  calls[1]!.answer(new TaskFailure({ code: 'NETWORK_ERROR', message: 'reset', retryable: true }));
  await assert.rejects(x, (e: TaskFailure) => e.failure.code === 'NETWORK_ERROR');
});

test('different keys do not share calls; a step the kind does not plan runs alone, outside the batcher', async () => {
  const { k, calls, lone } = kind(100, (i) => (i.n === 'solo' ? null : String(i.n).slice(0, 1)));
  const b = new Batcher();
  const p = [b.run(k, { n: 'a1' }, ctx()), b.run(k, { n: 'b1' }, ctx()), b.run(k, { n: 'solo' }, ctx())];
  await tick();
  assert.equal(calls.length, 3);
  assert.equal(b.counters.immediate, 2);
  assert.equal(b.counters.calls, 2);
  for (const c of calls) c.answer();
  assert.deepEqual(await Promise.all(p), ['out a1', 'out b1', 'out solo']);
  assert.equal(lone(), 3, 'calls of one use the single-record path');
});

test('a step aborted while gathering leaves the call; the call’s signal aborts only when all its members are', async () => {
  const { k, calls } = kind();
  const b = new Batcher();
  const first = b.run(k, { n: 0 }, ctx());
  await tick();
  const gone = new AbortController();
  const leaving = b.run(k, { n: 1 }, ctx(gone.signal));
  const staying = b.run(k, { n: 2 }, ctx());
  await tick();
  assert.equal(b.holding, 3);
  gone.abort(new Error('step timed out'));
  await assert.rejects(leaving, /step timed out/);
  assert.equal(b.counters.abandoned, 1);
  calls[0]!.answer();
  await first;
  await tick();
  assert.deepEqual(calls[1]!.members.map((m) => m.item), [2]);
  calls[1]!.answer();
  await staying;

  const s1 = new AbortController();
  const s2 = new AbortController();
  const p1 = b.run(k, { n: 3 }, ctx(s1.signal));
  const p2 = b.run(k, { n: 4 }, ctx(s2.signal));
  await tick();
  const lone = calls[2]!;
  assert.equal(lone.members.length, 1);
  await tick();
  lone.answer();
  await p1;
  await tick();
  const pair = calls[3]!;
  assert.deepEqual(pair.members.map((m) => m.item), [4]);
  s2.abort(new Error('shutdown'));
  await assert.rejects(p2, /shutdown/);
  assert.equal(pair.signal.aborted, true, 'no member left: the call is abandoned');
  pair.answer();
  await tick();
  assert.equal(b.holding, 0);
});

test('steps on their way (expected) share the call a step about to go out alone would make; a lost one holds it at most ARRIVAL_WAIT_MS', async () => {
  const { k, calls } = kind();
  const b = new Batcher();
  const on = [b.expect(), b.expect(), b.expect()];
  const first = b.run(k, { n: 0 }, ctx(), on[0]);
  await tick();
  assert.equal(calls.length, 0, 'two more are on their way: the first waits for them');
  const second = b.run(k, { n: 1 }, ctx(), on[1]);
  const third = b.run(k, { n: 2 }, ctx(), on[2]);
  await tick();
  await tick();
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.members.map((m) => m.item), [0, 1, 2]);
  assert.equal(b.arriving, 0);
  calls[0]!.answer();
  assert.deepEqual(await Promise.all([first, second, third]), ['out 0', 'out 1', 'out 2']);

  // One expected that never comes (its run failed before its step): the call waits, but not longer than the bound.
  const lost = b.expect();
  const t0 = performance.now();
  const alone = b.run(k, { n: 3 }, ctx(), b.expect());
  await eventually(() => calls.length === 2, 1_000, 'the call');
  assert.ok(performance.now() - t0 >= ARRIVAL_WAIT_MS - 2);
  calls[1]!.answer();
  assert.equal(await alone, 'out 3');
  lost();
  lost(); // saying it twice counts once
  assert.equal(b.arriving, 0);
});

const items = (c: { members: readonly BatchMember[] }) => c.members.map((m) => m.item);

test('a full call’s worth waiting goes out beside the call in flight, up to the cap; a partial group gathers behind them', async () => {
  const { k, calls } = kind(3, undefined, 2);
  const b = new Batcher();
  const all = [b.run(k, { n: 0 }, ctx())];
  await tick();
  all.push(...[1, 2].map((n) => b.run(k, { n }, ctx())));
  await tick();
  assert.equal(calls.length, 1, 'two waiting are not a full call: they gather behind the one in flight');
  all.push(b.run(k, { n: 3 }, ctx()));
  await tick();
  assert.equal(calls.length, 2, 'three waiting are: they go out at once, beside the call in flight');
  assert.deepEqual(items(calls[1]!), [1, 2, 3]);
  all.push(...[4, 5, 6, 7].map((n) => b.run(k, { n }, ctx())));
  await tick();
  assert.equal(calls.length, 2, 'two calls in flight: the cap');
  calls[0]!.answer();
  await tick();
  assert.equal(calls.length, 3, 'a call ended: the next full one goes');
  assert.deepEqual(items(calls[2]!), [4, 5, 6]);
  calls[1]!.answer();
  await tick();
  assert.equal(calls.length, 3, 'one step left: it gathers behind the call still in flight');
  calls[2]!.answer();
  await tick();
  assert.deepEqual(items(calls[3]!), [7]);
  calls[3]!.answer();
  assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4, 5, 6, 7].map((n) => `out ${n}`));
  assert.deepEqual(b.counters, { calls: 4, members: 8, immediate: 1, largest: 3, abandoned: 0, concurrent: 2, inFlightMax: 2 });
  assert.equal(b.holding, 0);
});

test(`a lane has at most CALLS_IN_FLIGHT (${CALLS_IN_FLIGHT}) calls in flight when its kind does not say`, async () => {
  const { k, calls } = kind(2);
  const b = new Batcher();
  const all = Array.from({ length: 40 }, (_, n) => b.run(k, { n }, ctx()));
  await tick();
  assert.equal(calls.length, CALLS_IN_FLIGHT);
  assert.deepEqual(calls.map((c) => c.members.length), [1, ...Array.from({ length: CALLS_IN_FLIGHT - 1 }, () => 2)]);
  while (calls.some((c) => !c.answered)) {
    const open = calls.filter((c) => !c.answered);
    assert.ok(open.length <= CALLS_IN_FLIGHT);
    open[0]!.answer();
    await tick();
  }
  assert.equal((await Promise.all(all)).length, 40);
  assert.equal(b.counters.inFlightMax, CALLS_IN_FLIGHT);
  assert.equal(b.counters.members, 40);
});

test('a record is never in two calls in flight at once: a step whose identity is in one waits for it to end', async () => {
  const { k, calls } = kind(2, undefined, 3);
  const b = new Batcher();
  const a = b.run(k, { n: 'a', id: 'x' }, ctx());
  await tick();
  const again = b.run(k, { n: 'a2', id: 'x' }, ctx());
  const others = [b.run(k, { n: 'c', id: 'y' }, ctx()), b.run(k, { n: 'd', id: 'z' }, ctx())];
  await tick();
  assert.equal(calls.length, 2, 'c and d make a full call beside a’s');
  assert.deepEqual(items(calls[1]!), ['c', 'd'], 'a2 is x, in the call in flight: it waits');
  const e = b.run(k, { n: 'e', id: 'w' }, ctx());
  await tick();
  assert.equal(calls.length, 2, 'a2 and e are two, but a2 may not go yet: no full call');
  calls[0]!.answer();
  await tick();
  assert.deepEqual(items(calls[2]!), ['a2', 'e'], 'x is free: a2 and e are a full call, beside c and d’s');
  assert.equal(b.counters.inFlightMax, 2);
  calls[1]!.answer();
  calls[2]!.answer();
  assert.deepEqual(await Promise.all([a, again, ...others, e]), ['out a', 'out a2', 'out c', 'out d', 'out e']);
  assert.equal(b.holding, 0);
});

test('a call whose members were all aborted keeps their identities busy until it has ended', async () => {
  const { k, calls } = kind(100);
  const b = new Batcher();
  const stop = new AbortController();
  const first = b.run(k, { n: 1, id: 'x' }, ctx(stop.signal));
  await tick();
  stop.abort(new Error('step timed out'));
  await assert.rejects(first, /step timed out/);
  const retry = b.run(k, { n: 2, id: 'x' }, ctx());
  await tick();
  assert.equal(calls.length, 1, 'the record may still be being written: its retry waits for that call');
  calls[0]!.answer(new Error('aborted'));
  await tick();
  assert.deepEqual(items(calls[1]!), [2]);
  calls[1]!.answer();
  assert.equal(await retry, 'out 2');
  assert.equal(b.holding, 0);
});
