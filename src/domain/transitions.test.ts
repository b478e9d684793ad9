import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import type { EntityTypeDefinition, TransitionDef } from './entity-type.js';
import { enforcedFailures, findAutoTransitionCycles, resolveStatusPath, type RequirementResult } from './transitions.js';

const t = (from: string[], to: string, opts: Partial<TransitionDef> = {}): TransitionDef => ({ from, to, when: [], whenFailing: [], auto: false, ...opts });

/** The API.md Order example, normalised. */
const order: EntityTypeDefinition = {
  name: 'Order',
  attributes: [],
  statuses: ['new', 'received', 'approved', 'suspended'].map((key, i) => ({ key, name: key, initial: i === 0 })),
  requirements: [
    { key: 'number_format', condition: '', message: 'Order number must look like ORD-123', enforce: true },
    { key: 'has_email', condition: '', message: 'Customer email is required', enforce: false },
    { key: 'positive_total', condition: '', message: 'Total must be positive', enforce: false },
    { key: 'is_paid', condition: '', message: 'Order is not paid', enforce: false },
  ],
  transitions: [
    t(['new'], 'received', { when: ['has_email', 'positive_total'], auto: true }),
    t(['received'], 'approved', { when: ['is_paid'], auto: true }),
    t(['approved'], 'suspended', { whenFailing: ['is_paid'], auto: true }),
    t(['suspended'], 'approved', { when: ['is_paid'] }),
  ],
};

/** Requirement results of one save: the listed keys pass, the others fail. */
function results(...passing: string[]): RequirementResult[] {
  return order.requirements.map((r) => ({ key: r.key, passed: passing.includes(r.key), message: r.message, enforce: r.enforce }));
}

function appError(fn: () => unknown, code: string): AppError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.code, code);
    return e;
  }
  assert.fail(`expected ${code}`);
}

test('create: starts at the initial status and follows auto transitions in one save', () => {
  assert.deepEqual(resolveStatusPath(order, undefined, results('has_email', 'positive_total', 'is_paid')), ['new', 'received', 'approved']);
  assert.deepEqual(resolveStatusPath(order, undefined, results('has_email', 'positive_total')), ['new', 'received']);
  assert.deepEqual(resolveStatusPath(order, undefined, results('has_email')), ['new']);
});

test('update: auto transitions from the current status', () => {
  assert.deepEqual(resolveStatusPath(order, 'received', results('is_paid')), ['received', 'approved']);
  assert.deepEqual(resolveStatusPath(order, 'approved', results()), ['approved', 'suspended']);
  // suspended → approved is not auto: paying again does not move it by itself.
  assert.deepEqual(resolveStatusPath(order, 'suspended', results('is_paid')), ['suspended']);
});

test('a requested non-auto transition is taken when its requirements hold', () => {
  assert.deepEqual(resolveStatusPath(order, 'suspended', results('is_paid'), 'approved'), ['suspended', 'approved']);
  // Requesting the current status is no change request.
  assert.deepEqual(resolveStatusPath(order, 'received', results('is_paid'), 'received'), ['received', 'approved']);
  assert.deepEqual(resolveStatusPath(order, undefined, results(), 'new'), ['new']);
});

test('a requested auto transition is also allowed, then auto transitions continue', () => {
  assert.deepEqual(resolveStatusPath(order, undefined, results('has_email', 'positive_total', 'is_paid'), 'received'), ['new', 'received', 'approved']);
});

test('no declared transition to the requested status', () => {
  const e = appError(() => resolveStatusPath(order, 'new', results(), 'approved'), 'TRANSITION_NOT_ALLOWED');
  assert.deepEqual(e.details, { from: 'new', to: 'approved', allowed: ['received'] });
  assert.equal(e.status, 422);
  const onCreate = appError(() => resolveStatusPath(order, undefined, results(), 'suspended'), 'TRANSITION_NOT_ALLOWED');
  assert.deepEqual(onCreate.details, { from: 'new', to: 'suspended', allowed: ['received'] });
});

test('an unknown requested status', () => {
  const e = appError(() => resolveStatusPath(order, undefined, results(), 'shipped'), 'STATUS_UNKNOWN');
  assert.equal(e.status, 400);
  assert.deepEqual((e.details as { allowed: string[] }).allowed, ['new', 'received', 'approved', 'suspended']);
});

test('unmet requirements of the requested transition are named', () => {
  const e = appError(() => resolveStatusPath(order, 'new', results('has_email'), 'received'), 'TRANSITION_REQUIREMENTS_UNMET');
  assert.deepEqual(e.details, {
    from: 'new',
    to: 'received',
    requirements: [{ key: 'positive_total', message: 'Total must be positive', expected: 'pass' }],
  });
  const s = appError(() => resolveStatusPath(order, 'suspended', results(), 'approved'), 'TRANSITION_REQUIREMENTS_UNMET');
  assert.deepEqual((s.details as { requirements: unknown }).requirements, [{ key: 'is_paid', message: 'Order is not paid', expected: 'pass' }]);
  // whenFailing requirements that pass are unmet too.
  const a = appError(() => resolveStatusPath(order, 'approved', results('is_paid'), 'suspended'), 'TRANSITION_REQUIREMENTS_UNMET');
  assert.deepEqual(
    (a.details as { requirements: Array<{ key: string; expected: string }> }).requirements.map((r) => [r.key, r.expected]),
    [['is_paid', 'fail']],
  );
});

test('among several candidate transitions the first that holds wins; the closest one explains a refusal', () => {
  const def: EntityTypeDefinition = {
    ...order,
    transitions: [t(['suspended'], 'approved', { when: ['is_paid', 'has_email', 'positive_total'] }), t(['suspended'], 'approved', { when: ['number_format'] })],
  };
  assert.deepEqual(resolveStatusPath(def, 'suspended', results('number_format'), 'approved'), ['suspended', 'approved']);
  const e = appError(() => resolveStatusPath(def, 'suspended', results('is_paid', 'has_email'), 'approved'), 'TRANSITION_REQUIREMENTS_UNMET');
  assert.deepEqual((e.details as { requirements: Array<{ key: string }> }).requirements.map((r) => r.key), ['positive_total']);
});

test('auto transitions: the first applicable one in declaration order wins', () => {
  const def: EntityTypeDefinition = {
    ...order,
    transitions: [t(['new'], 'suspended', { when: ['is_paid'], auto: true }), t(['new'], 'received', { auto: true })],
  };
  assert.deepEqual(resolveStatusPath(def, 'new', results('is_paid')), ['new', 'suspended']);
  assert.deepEqual(resolveStatusPath(def, 'new', results()), ['new', 'received']);
});

test('a requirement without a result counts as not passed', () => {
  assert.deepEqual(resolveStatusPath(order, 'received', []), ['received']);
  assert.deepEqual(resolveStatusPath(order, 'approved', []), ['approved', 'suspended']);
});

test('an auto loop that slipped through is stopped by the hop limit', () => {
  const def: EntityTypeDefinition = { ...order, transitions: [t(['new'], 'received', { auto: true }), t(['received'], 'new', { auto: true })] };
  const e = appError(() => resolveStatusPath(def, 'new', results()), 'TRANSITION_LOOP');
  assert.equal((e.details as { path: string[] }).path.length, order.statuses.length + 2);
});

test('a status the definition no longer has: no transitions apply', () => {
  assert.deepEqual(resolveStatusPath(order, 'archived', results('is_paid')), ['archived']);
  appError(() => resolveStatusPath(order, 'archived', results(), 'new'), 'TRANSITION_NOT_ALLOWED');
});

test('enforced failures', () => {
  assert.deepEqual(enforcedFailures(results()), [{ key: 'number_format', message: 'Order number must look like ORD-123' }]);
  assert.deepEqual(enforcedFailures(results('number_format')), []);
});

const cycles = (transitions: Array<TransitionDef | undefined>) => findAutoTransitionCycles(transitions).map((c) => ({ ...c }));

test('cycle check: the Order pattern has none, even with both directions auto', () => {
  assert.deepEqual(cycles(order.transitions), []);
  assert.deepEqual(cycles(order.transitions.map((x) => ({ ...x, auto: true }))), []);
});

test('cycle check: unconditional and consistent loops are found', () => {
  const [c] = cycles([t(['a'], 'b', { auto: true }), t(['b'], 'c', { auto: true }), t(['c'], 'a', { auto: true })]);
  assert.deepEqual(c, { statuses: ['a', 'b', 'c'], transitions: [0, 1, 2], passing: [], failing: [], undecided: false });
  const [d] = cycles([t(['a'], 'b', { when: ['x'], auto: true }), t(['b'], 'a', { when: ['x'], whenFailing: ['y'], auto: true })]);
  assert.deepEqual([d?.passing, d?.failing], [['x'], ['y']]);
});

test('cycle check: non-auto transitions, contradictions and pre-empted transitions make no loop', () => {
  assert.deepEqual(cycles([t(['a'], 'b', { auto: true }), t(['b'], 'a')]), []);
  assert.deepEqual(cycles([t(['a'], 'b', { when: ['x'], auto: true }), t(['b'], 'c', { whenFailing: ['x'], auto: true }), t(['c'], 'a', { auto: true })]), []);
  // From b an earlier, unconditional auto transition to c always wins over b → a.
  assert.deepEqual(cycles([t(['b'], 'c', { auto: true }), t(['a'], 'b', { auto: true }), t(['b'], 'a', { auto: true })]), []);
  // From b, b → c (when x) pre-empts b → a (when x): no loop; without x, b → a is not applicable either.
  assert.deepEqual(cycles([t(['b'], 'c', { when: ['x'], auto: true }), t(['a'], 'b', { auto: true }), t(['b'], 'a', { when: ['x'], auto: true })]), []);
  // ... but when b → c needs y, a loop exists with x passing and y failing.
  const [c] = cycles([t(['b'], 'c', { when: ['y'], auto: true }), t(['a'], 'b', { auto: true }), t(['b'], 'a', { when: ['x'], auto: true })]);
  assert.deepEqual([c?.statuses, c?.passing, c?.failing], [['b', 'a'], ['x'], ['y']]);
});

test('cycle check: invalid entries and self-transitions are ignored', () => {
  assert.deepEqual(cycles([undefined, t(['a'], 'a', { auto: true }), t(['a'], 'b', { when: ['x'], whenFailing: ['x'], auto: true }), t(['b'], 'a', { auto: true })]), []);
});

test('cycle check: one report per group of statuses that can loop', () => {
  const found = cycles([t(['a'], 'b', { auto: true }), t(['b'], 'a', { auto: true }), t(['c'], 'd', { auto: true }), t(['d'], 'c', { auto: true })]);
  assert.deepEqual(found.map((c) => c.statuses), [['a', 'b'], ['c', 'd']]);
});

test('cycle check: many requirements use the fallback search', () => {
  const reqs = Array.from({ length: 30 }, (_, i) => `r${i}`);
  const loop = [t(['a'], 'b', { when: reqs.slice(0, 15), auto: true }), t(['b'], 'a', { when: reqs.slice(15), auto: true })];
  const [c] = cycles(loop);
  assert.deepEqual([c?.statuses, c?.undecided, c?.passing.length], [['a', 'b'], false, 30]);
  assert.deepEqual(cycles([loop[0]!, t(['b'], 'a', { when: reqs.slice(15), whenFailing: ['r0'], auto: true })]), []);
});

test('cycle check stays fast on large definitions', () => {
  const statuses = Array.from({ length: 100 }, (_, i) => `s${i}`);
  const transitions = statuses.flatMap((s, i) =>
    Array.from({ length: 10 }, (_, j) => t([s], statuses[(i + j + 1) % 100]!, { when: [`r${(i + j) % 40}`], whenFailing: [`r${(i + 2 * j + 1) % 40}`], auto: true })),
  );
  const started = performance.now();
  const found = cycles(transitions); // a loop, or `undecided` when the search budget runs out
  assert.ok(found.length >= 1);
  assert.ok(performance.now() - started < 2000, 'took too long');
});
