/**
 * Property-based test of the save pipeline (DESIGN.md "The save pipeline") through the HTTP API.
 *
 * fast-check generates sequences of creates and PATCHes on the Order type of API.md — valid and
 * invalid order numbers, present/missing/empty emails, positive/zero/negative/missing totals, paid
 * or not, wrong types, unknown attributes, requested statuses (declared or not) and If-Match headers
 * (right or stale) — and checks after every save:
 *  (a) a refused save (any 4xx) changes nothing: version, status, attributes and event count stay;
 *  (b) every accepted `statusPath` is a chain of declared transitions starting at the previous
 *      status (the initial status on create) and ending at the new status;
 *  (c) at the end, events = accepted saves per entity and in total, and version = accepted saves;
 *  (d) a small independent model of the Order rules predicts each outcome (HTTP status, error code,
 *      new status, attributes) and the API agrees.
 * A failure prints the seed and the shrunk counterexample; replay with FC_SEED=<seed> (and FC_PATH).
 * FC_RUNS overrides the number of runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { countEvents } from '../src/store/entities.js';
import { startTestApp, type TestApp } from './support/app.js';
import { DIALECTS } from './support/databases.js';
import { ORDER_TYPE } from './support/order.js';

// ---------------------------------------------------------------------------------------------
// The model: the Order type's rules written out by hand, independent of src/.

type Attrs = Record<string, unknown>;
type Patch = Record<string, unknown>;

const DECLARED_STATUSES = ['new', 'received', 'approved', 'suspended'];
const INITIAL = 'new';

interface ModelTransition { from: string; to: string; when: string[]; whenFailing: string[]; auto: boolean }
const TRANSITIONS: ModelTransition[] = [
  { from: 'new', to: 'received', when: ['has_email', 'positive_total'], whenFailing: [], auto: true },
  { from: 'received', to: 'approved', when: ['is_paid'], whenFailing: [], auto: true },
  { from: 'approved', to: 'suspended', when: [], whenFailing: ['is_paid'], auto: true },
  { from: 'suspended', to: 'approved', when: ['is_paid'], whenFailing: [], auto: false },
];
const DECLARED_PAIRS = new Set(TRANSITIONS.map((t) => `${t.from}->${t.to}`));

function requirementsOf(a: Attrs): Record<string, boolean> {
  return {
    number_format: typeof a.order_number === 'string' && /^ORD-[0-9]+$/.test(a.order_number),
    has_email: typeof a.customer_email === 'string' && a.customer_email !== '',
    positive_total: typeof a.total === 'number' && a.total > 0,
    is_paid: a.paid === true,
  };
}

const VALID: Record<string, (v: unknown) => boolean> = {
  order_number: (v) => typeof v === 'string',
  total: (v) => typeof v === 'number' && Number.isFinite(v),
  customer_email: (v) => typeof v === 'string',
  paid: (v) => typeof v === 'boolean',
  channel: (v) => v === 'web' || v === 'phone',
  lines: () => true,
};

type Expected =
  | { accepted: true; status: string; path: string[]; attributes: Attrs }
  | { accepted: false; http: number; codes: string[] };

/** What one save should do, given the stored entity (undefined on create). */
function expectSave(current: { status: string; attributes: Attrs; version: number } | undefined, patch: Patch, requested: string | undefined, ifMatch: 'none' | 'right' | 'stale'): Expected {
  if (current && ifMatch === 'stale') return { accepted: false, http: 409, codes: ['VERSION_CONFLICT'] };
  // 1. validation (400): attribute types/unknown/required, and an undeclared requested status
  const codes: string[] = [];
  if (requested !== undefined && !DECLARED_STATUSES.includes(requested)) codes.push('STATUS_UNKNOWN');
  const merged: Attrs = current ? { ...current.attributes } : {};
  let badAttribute = false;
  for (const [key, value] of Object.entries(patch)) {
    const valid = VALID[key];
    if (!valid) badAttribute = true;
    else if (value === null) delete merged[key];
    else if (!valid(value)) badAttribute = true;
    else merged[key] = value;
  }
  if (!current && merged.paid === undefined) merged.paid = false; // the declared default
  if (merged.order_number === undefined) badAttribute = true; // required
  if (badAttribute) codes.push('ATTRIBUTES_INVALID');
  if (codes.length > 0) return { accepted: false, http: 400, codes };
  // 2–3. requirements; a failing enforced one refuses the save
  const passed = requirementsOf(merged);
  if (!passed.number_format) return { accepted: false, http: 422, codes: ['ENTITY_REQUIREMENTS_FAILED'] };
  const holds = (t: ModelTransition) => t.when.every((k) => passed[k]) && !t.whenFailing.some((k) => passed[k]);
  // 4. the requested transition
  const start = current?.status ?? INITIAL;
  const path = [start];
  if (requested !== undefined && requested !== start) {
    const candidates = TRANSITIONS.filter((t) => t.from === start && t.to === requested);
    if (candidates.length === 0) return { accepted: false, http: 422, codes: ['TRANSITION_NOT_ALLOWED'] };
    if (!candidates.some(holds)) return { accepted: false, http: 422, codes: ['TRANSITION_REQUIREMENTS_UNMET'] };
    path.push(requested);
  }
  // 5. auto transitions to a fixpoint, the first declared applicable one wins
  for (let hops = 0; hops < 10; hops++) {
    const from = path[path.length - 1]!;
    const next = TRANSITIONS.find((t) => t.auto && t.from === from && holds(t));
    if (!next) break;
    path.push(next.to);
  }
  return { accepted: true, status: path[path.length - 1]!, path, attributes: merged };
}

// ---------------------------------------------------------------------------------------------
// Generators.

const ABSENT = Symbol('absent');

const orderNumber = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 99_999 }).map((n) => `ORD-${n}`) },
  { weight: 3, arbitrary: fc.constantFrom('ORD-', 'ord-12', 'ORD-12a', 'X-1', '', 'ORD-1 ', ' ORD-1', 'ORD--1', 'ORD-1\n') },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(12, null, true) },
);
const email = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('a@b.co', 'buyer@example.com') },
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constant(null) }, // removes it (absent on create)
  { weight: 1, arbitrary: fc.constant<unknown>(42) },
);
const total = fc.oneof(
  { weight: 5, arbitrary: fc.oneof(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0.01, max: 1e6, noNaN: true })) },
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.oneof(fc.integer({ min: -10_000, max: -1 }), fc.constant(-0.5)) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant<unknown>('12') },
);
const paid = fc.oneof({ weight: 9, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 'yes') });
const channel = fc.constantFrom<unknown>('web', 'phone', 'fax');
const lines = fc.constantFrom<unknown>([], [{ sku: 'A-1', qty: 2 }], { note: 'gift' });

/** `arb` in `present` cases out of `present + absent`, else the attribute is left out. */
const maybe = <T>(arb: fc.Arbitrary<T>, present: number, absent: number) =>
  fc.oneof({ weight: present, arbitrary: arb }, { weight: absent, arbitrary: fc.constant<typeof ABSENT>(ABSENT) });

/** Anything goes: each attribute present or not, valid or not; a rare unknown attribute. */
const anyPatch: fc.Arbitrary<Patch> = fc
  .record({
    order_number: maybe(orderNumber, 1, 1),
    customer_email: maybe(email, 1, 1),
    total: maybe(total, 1, 1),
    paid: maybe(paid, 1, 1),
    channel: maybe(channel, 1, 3),
    lines: maybe(lines, 1, 3),
    colour: maybe(fc.constant('red'), 1, 20),
  })
  .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== ABSENT)));

/** A mostly good order (so entities get far enough through the statuses for later saves to matter). */
const goodPatch: fc.Arbitrary<Patch> = fc.record({
  order_number: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 99_999 }).map((n) => `ORD-${n}`) }, { weight: 1, arbitrary: orderNumber }),
  customer_email: fc.oneof({ weight: 4, arbitrary: fc.constant('a@b.co') }, { weight: 1, arbitrary: email }),
  total: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 500 }) }, { weight: 1, arbitrary: total }),
  paid,
});

/** One or two attributes changed: what most PATCHes look like (e.g. `{paid: false}` after approval). */
const smallPatch: fc.Arbitrary<Patch> = fc
  .uniqueArray(
    fc.oneof(
      { weight: 4, arbitrary: paid.map((v) => ['paid', v] as const) },
      { weight: 2, arbitrary: total.map((v) => ['total', v] as const) },
      { weight: 2, arbitrary: email.map((v) => ['customer_email', v] as const) },
      { weight: 1, arbitrary: orderNumber.map((v) => ['order_number', v] as const) },
      { weight: 1, arbitrary: channel.map((v) => ['channel', v] as const) },
    ),
    { minLength: 0, maxLength: 2, selector: ([k]) => k },
  )
  .map((pairs) => Object.fromEntries(pairs));

/**
 * The requested status: usually none; else a declared status, an undeclared one, or (a number) the
 * n-th target of a declared transition out of the entity's current status — resolved when the
 * command runs, so that requested transitions are exercised often, not just by chance.
 */
type StatusChoice = string | number | undefined;
const requestedStatus: fc.Arbitrary<StatusChoice> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom(...DECLARED_STATUSES, 'cancelled', 'Received') },
  { weight: 2, arbitrary: fc.nat({ max: 7 }) },
);

function resolveStatus(choice: StatusChoice, current: string): string | undefined {
  if (typeof choice !== 'number') return choice;
  const targets = TRANSITIONS.filter((t) => t.from === current).map((t) => t.to);
  return targets.length === 0 ? current : targets[choice % targets.length];
}

type Command =
  | { kind: 'create'; attributes: Patch; status: StatusChoice }
  | { kind: 'patch'; target: number; attributes: Patch; status: StatusChoice; ifMatch: 'none' | 'right' | 'stale' };

const createCommand: fc.Arbitrary<Command> = fc.record({
  kind: fc.constant('create' as const),
  attributes: fc.oneof({ weight: 3, arbitrary: goodPatch }, { weight: 1, arbitrary: anyPatch }),
  status: requestedStatus,
});
const patchCommand: fc.Arbitrary<Command> = fc.record({
  kind: fc.constant('patch' as const),
  target: fc.nat(),
  attributes: fc.oneof({ weight: 4, arbitrary: smallPatch }, { weight: 1, arbitrary: goodPatch }, { weight: 1, arbitrary: anyPatch }),
  status: requestedStatus,
  ifMatch: fc.constantFrom('none' as const, 'none' as const, 'right' as const, 'stale' as const),
});
const commands = fc.array(fc.oneof({ weight: 1, arbitrary: createCommand }, { weight: 2, arbitrary: patchCommand }), { minLength: 1, maxLength: 12, size: 'max' });

// ---------------------------------------------------------------------------------------------
// Running a sequence against the API.

interface Tracked { id: string; status: string; attributes: Attrs; version: number; accepted: number }

interface SaveBody {
  id: string;
  status: string;
  version: number;
  attributes: Attrs;
  statusPath: string[];
  requirements: Array<{ key: string; passed: boolean }>;
  error?: { code: string };
}

const TYPE = 'order';
const describeCommand = (c: Command) => JSON.stringify(c);

function checkPath(path: unknown, start: string, final: string, what: string): void {
  assert.ok(Array.isArray(path) && path.length >= 1, `${what}: statusPath must be a non-empty array, got ${JSON.stringify(path)}`);
  assert.equal(path[0], start, `${what}: statusPath must start at the previous status`);
  for (let i = 1; i < path.length; i++) {
    assert.ok(DECLARED_PAIRS.has(`${path[i - 1]}->${path[i]}`), `${what}: ${path[i - 1]} → ${path[i]} is not a declared transition (path ${JSON.stringify(path)})`);
  }
  assert.equal(path[path.length - 1], final, `${what}: the entity's status must be the last element of statusPath`);
}

async function entityCount(t: TestApp): Promise<number> {
  const row = await t.services.database.db
    .selectFrom('entities')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', t.defaultOrgId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function eventsOf(t: TestApp, id: string): Promise<Array<{ entityVersion: number; statusPath: string[]; statusAfter: string }>> {
  const res = await t.call('GET', `/api/v1/entities/${TYPE}/${id}/events?limit=500`);
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { items: Array<{ entityVersion: number; statusPath: string[]; statusAfter: string }> }).items;
}

/** The stored entity must be exactly what the model tracked. */
async function assertStored(t: TestApp, e: Tracked, what: string): Promise<void> {
  const res = await t.call('GET', `/api/v1/entities/${TYPE}/${e.id}`);
  assert.equal(res.statusCode, 200, `${what}: GET ${res.body}`);
  const got = res.json() as SaveBody;
  assert.equal(got.version, e.version, `${what}: version`);
  assert.equal(got.status, e.status, `${what}: status`);
  assert.deepEqual(got.attributes, e.attributes, `${what}: attributes`);
}

/** What the generated sequences exercised (outcome → count), reported and checked after the property. */
const coverage = new Map<string, number>();
const cover = (what: string): void => void coverage.set(what, (coverage.get(what) ?? 0) + 1);

async function runSequence(t: TestApp, cmds: Command[]): Promise<void> {
  const entities: Tracked[] = [];
  const eventsBefore = await countEvents(t.services.database.db, t.defaultOrgId);
  const entitiesBefore = await entityCount(t);
  let acceptedTotal = 0;

  for (const [i, cmd] of cmds.entries()) {
    const target = cmd.kind === 'patch' && entities.length > 0 ? entities[cmd.target % entities.length] : undefined;
    const what = `command #${i} ${describeCommand(cmd)} on ${target ? JSON.stringify(target) : 'nothing'}`;
    if (cmd.kind === 'patch' && !target) continue; // nothing to PATCH yet

    const body: Record<string, unknown> = { attributes: cmd.attributes };
    const requested = resolveStatus(cmd.status, target?.status ?? INITIAL);
    if (requested !== undefined) body.status = requested;
    let expected: Expected;
    let res: LightMyRequestResponse;
    if (cmd.kind === 'create') {
      expected = expectSave(undefined, cmd.attributes, requested, 'none');
      res = await t.call('POST', `/api/v1/entities/${TYPE}`, body);
    } else {
      const e = target!;
      expected = expectSave(e, cmd.attributes, requested, cmd.ifMatch);
      const headers: Record<string, string> = {};
      if (cmd.ifMatch === 'right') headers['if-match'] = `"${e.version}"`;
      if (cmd.ifMatch === 'stale') headers['if-match'] = `"${e.version + 7}"`;
      res = await t.call('PATCH', `/api/v1/entities/${TYPE}/${e.id}`, body, { headers });
    }
    const got = res.json() as SaveBody;

    if (!expected.accepted) cover(`${cmd.kind} refused ${got.error?.code}`);
    else if (expected.path.length === 1) cover(`${cmd.kind} accepted, stays ${expected.path[0]}`);
    else for (let k = 1; k < expected.path.length; k++) cover(`${expected.path[k - 1]} → ${expected.path[k]}${k === 1 && requested === expected.path[1] ? ' (requested)' : ''}`);
    if (!expected.accepted) {
      // (d) refused, with the predicted status and code; (a) nothing changed
      assert.equal(res.statusCode, expected.http, `${what}: expected ${expected.http} ${expected.codes.join('|')}, got ${res.statusCode} ${res.body}`);
      assert.ok(expected.codes.includes(got.error?.code ?? ''), `${what}: expected code ${expected.codes.join('|')}, got ${res.body}`);
      if (target) {
        await assertStored(t, target, `${what} (refused)`);
        assert.equal((await eventsOf(t, target.id)).length, target.accepted, `${what}: a refused save must not write an event`);
      }
      assert.equal(await countEvents(t.services.database.db, t.defaultOrgId), eventsBefore + acceptedTotal, `${what}: a refused save must not write an event`);
      assert.equal(await entityCount(t), entitiesBefore + entities.length, `${what}: a refused create must not write an entity`);
      continue;
    }

    // (d) accepted, with the predicted status, path and attributes
    assert.equal(res.statusCode, cmd.kind === 'create' ? 201 : 200, `${what}: expected success (path ${JSON.stringify(expected.path)}), got ${res.statusCode} ${res.body}`);
    const start = target?.status ?? INITIAL;
    // (b) the path is a chain of declared transitions from the previous status to the new one
    checkPath(got.statusPath, start, got.status, what);
    assert.equal(got.status, expected.status, `${what}: status (model path ${JSON.stringify(expected.path)}, API path ${JSON.stringify(got.statusPath)})`);
    assert.deepEqual(got.statusPath, expected.path, `${what}: statusPath`);
    assert.deepEqual(got.attributes, expected.attributes, `${what}: attributes`);
    const passed = requirementsOf(expected.attributes);
    for (const r of got.requirements) assert.equal(r.passed, passed[r.key], `${what}: requirement ${r.key}`);
    assert.equal(got.requirements.length, 4, `${what}: every requirement is reported`);

    acceptedTotal++;
    if (target) {
      assert.equal(got.id, target.id);
      assert.equal(got.version, target.version + 1, `${what}: version + 1`);
      Object.assign(target, { status: got.status, attributes: expected.attributes, version: got.version, accepted: target.accepted + 1 });
    } else {
      assert.equal(got.version, 1, `${what}: a new entity has version 1`);
      entities.push({ id: got.id, status: got.status, attributes: expected.attributes, version: 1, accepted: 1 });
    }
  }

  // (c) events = accepted saves, per entity and in total; version = accepted saves
  for (const e of entities) {
    await assertStored(t, e, `final state of ${e.id}`);
    assert.equal(e.version, e.accepted, `entity ${e.id}: version must equal its accepted saves`);
    const events = await eventsOf(t, e.id);
    assert.equal(events.length, e.accepted, `entity ${e.id}: one event per accepted save`);
    assert.deepEqual(events.map((ev) => ev.entityVersion), events.map((_, i) => i + 1), `entity ${e.id}: event versions 1..n`);
    assert.equal(events[events.length - 1]!.statusAfter, e.status, `entity ${e.id}: last event's status`);
    let previous = INITIAL;
    for (const ev of events) {
      checkPath(ev.statusPath, previous, ev.statusAfter, `entity ${e.id} event v${ev.entityVersion}`);
      previous = ev.statusAfter;
    }
  }
  assert.equal(await countEvents(t.services.database.db, t.defaultOrgId), eventsBefore + acceptedTotal, 'total events = accepted saves');
  assert.equal(await entityCount(t), entitiesBefore + entities.length, 'total entities = accepted creates');
}

// ---------------------------------------------------------------------------------------------

const RUNS: Record<string, number> = { sqlite: 60, postgres: 30 };

/** Hand-written sequences run before the random ones, so every transition and refusal is exercised on every run. */
const good = { order_number: 'ORD-7', customer_email: 'a@b.co', total: 12 };
const EXAMPLES: Command[][] = [
  [
    { kind: 'create', attributes: { ...good, paid: false }, status: undefined }, // new → received
    { kind: 'patch', target: 0, attributes: { paid: true }, status: undefined, ifMatch: 'right' }, // received → approved
    { kind: 'patch', target: 0, attributes: { paid: false }, status: undefined, ifMatch: 'none' }, // approved → suspended
    { kind: 'patch', target: 0, attributes: {}, status: 'approved', ifMatch: 'none' }, // refused: is_paid fails
    { kind: 'patch', target: 0, attributes: { paid: true }, status: 'approved', ifMatch: 'none' }, // suspended → approved (requested)
    { kind: 'patch', target: 0, attributes: {}, status: 'suspended', ifMatch: 'none' }, // refused: is_paid must fail
    { kind: 'patch', target: 0, attributes: { paid: false }, status: 'suspended', ifMatch: 'none' }, // approved → suspended (requested)
  ],
  [
    { kind: 'create', attributes: { order_number: 'ORD-8' }, status: undefined }, // stays new
    { kind: 'patch', target: 0, attributes: { customer_email: 'a@b.co', total: 3 }, status: 'received', ifMatch: 'none' }, // new → received (requested)
    { kind: 'patch', target: 0, attributes: { paid: true }, status: 'approved', ifMatch: 'none' }, // received → approved (requested)
    { kind: 'patch', target: 0, attributes: { order_number: 'ORD-x' }, status: undefined, ifMatch: 'none' }, // refused: enforced
    { kind: 'patch', target: 0, attributes: {}, status: 'new', ifMatch: 'none' }, // refused: no such transition
    { kind: 'patch', target: 0, attributes: {}, status: 'cancelled', ifMatch: 'none' }, // refused: unknown status
    { kind: 'patch', target: 0, attributes: { total: '12' }, status: undefined, ifMatch: 'none' }, // refused: bad type
    { kind: 'patch', target: 0, attributes: { paid: false }, status: undefined, ifMatch: 'stale' }, // refused: If-Match
    { kind: 'create', attributes: { ...good, order_number: 'X' }, status: undefined }, // refused: enforced
  ],
];

/** Outcomes every run must have exercised (the examples guarantee them; random runs add more). */
const MUST_EXERCISE = [
  ...TRANSITIONS.map((t) => `${t.from} → ${t.to}`),
  'suspended → approved (requested)',
  ...['ATTRIBUTES_INVALID', 'STATUS_UNKNOWN', 'ENTITY_REQUIREMENTS_FAILED', 'TRANSITION_NOT_ALLOWED', 'TRANSITION_REQUIREMENTS_UNMET', 'VERSION_CONFLICT'].map((c) => `refused ${c}`),
];

function fcParameters(dialect: string): fc.Parameters<[Command[]]> {
  const params: fc.Parameters<[Command[]]> = {
    numRuns: Number(process.env.FC_RUNS ?? RUNS[dialect] ?? 20),
    examples: EXAMPLES.map((cmds) => [cmds] as [Command[]]),
  };
  if (process.env.FC_SEED) params.seed = Number(process.env.FC_SEED);
  if (process.env.FC_PATH) params.path = process.env.FC_PATH;
  return params;
}

test('the Order model: hand-checked outcomes', () => {
  const ok = (e: Expected) => (e.accepted ? e.path : e.codes);
  assert.deepEqual(ok(expectSave(undefined, { order_number: 'ORD-1', customer_email: 'a@b.co', total: 5 }, undefined, 'none')), ['new', 'received']);
  assert.deepEqual(ok(expectSave(undefined, { order_number: 'ORD-1', customer_email: 'a@b.co', total: 5, paid: true }, undefined, 'none')), ['new', 'received', 'approved']);
  assert.deepEqual(ok(expectSave(undefined, { order_number: 'ORD-1', total: 5 }, undefined, 'none')), ['new']);
  assert.deepEqual(ok(expectSave(undefined, { order_number: 'X-1' }, undefined, 'none')), ['ENTITY_REQUIREMENTS_FAILED']);
  assert.deepEqual(ok(expectSave(undefined, { total: 5 }, undefined, 'none')), ['ATTRIBUTES_INVALID']);
  assert.deepEqual(ok(expectSave(undefined, { order_number: 'ORD-1' }, 'approved', 'none')), ['TRANSITION_NOT_ALLOWED']);
  assert.deepEqual(ok(expectSave(undefined, { order_number: 'ORD-1' }, 'received', 'none')), ['TRANSITION_REQUIREMENTS_UNMET']);
  const approved = { status: 'approved', version: 3, attributes: { order_number: 'ORD-1', customer_email: 'a@b.co', total: 5, paid: true } };
  assert.deepEqual(ok(expectSave(approved, { paid: false }, undefined, 'none')), ['approved', 'suspended']);
  const suspended = { ...approved, status: 'suspended', attributes: { ...approved.attributes, paid: false } };
  assert.deepEqual(ok(expectSave(suspended, { paid: true }, undefined, 'none')), ['suspended']);
  assert.deepEqual(ok(expectSave(suspended, { paid: true }, 'approved', 'right')), ['suspended', 'approved']);
  assert.deepEqual(ok(expectSave(suspended, {}, 'approved', 'stale')), ['VERSION_CONFLICT']);
});

for (const dialect of DIALECTS) {
  describe(`save pipeline properties on ${dialect}`, () => {
    let t: TestApp;

    before(async () => {
      t = await startTestApp(dialect);
      const res = await t.call('PUT', `/api/v1/entity-types/${TYPE}`, ORDER_TYPE);
      assert.equal(res.statusCode, 201, res.body);
    });
    after(() => t.close());

    test('the model and the API agree on random save sequences; refusals change nothing; events = accepted saves', async (ctx) => {
      coverage.clear();
      await fc.assert(
        fc.asyncProperty(commands, (cmds) => runSequence(t, cmds)),
        fcParameters(dialect),
      );
      ctx.diagnostic(`exercised: ${[...coverage].sort().map(([k, n]) => `${k} ×${n}`).join(', ')}`);
      if (!process.env.FC_PATH) {
        const missing = MUST_EXERCISE.filter((m) => ![...coverage.keys()].some((k) => k.includes(m)));
        assert.deepEqual(missing, [], 'the generated sequences no longer exercise these outcomes');
      }
    });
  });
}
