import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, type FieldIssue } from './errors.js';
import { initialStatus, parseEntityTypeDefinition, type ExpressionChecker } from './entity-type.js';
import { ORDER_TYPE as ORDER } from '../../test/support/order.js';

/** Stand-in for src/expr: `@@` is a syntax error; identifiers that are not known fields are warned about. */
const check: ExpressionChecker = (source, known) => {
  const at = source.indexOf('@@');
  if (at >= 0) {
    return { errors: [{ code: 'syntax_error', message: 'Unexpected token @', position: at, line: 1, column: at + 1, caret: `${source}\n${' '.repeat(at)}^` }], warnings: [] };
  }
  const words = source.replace(/'[^']*'|\$\w+|\/[^/]*\//g, ' ').match(/[a-z_][a-z0-9_]*/g) ?? [];
  const unknown = words.filter((w) => !known.includes(w) && !['and', 'or', 'true', 'false'].includes(w));
  return { errors: [], warnings: unknown.map((w) => ({ code: 'unknown_field', message: `"${w}" is not an attribute` })) };
};

const order = (): typeof ORDER => structuredClone(ORDER);
const parse = (body: unknown) => parseEntityTypeDefinition(body, check);

function failure(body: unknown): { code: string; fields: FieldIssue[] } {
  try {
    parse(body);
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    return { code: e.code, fields: (e.details as { fields: FieldIssue[] }).fields };
  }
  assert.fail('expected the definition to be refused');
}
const pairs = (fields: FieldIssue[]): string[] => fields.map((f) => `${f.path} ${f.code}`).sort();
const has = (fields: FieldIssue[], path: string, code: string): FieldIssue => {
  const f = fields.find((x) => x.path === path && x.code === code);
  assert.ok(f, `expected ${path} ${code} in ${JSON.stringify(pairs(fields))}`);
  return f;
};

test('the API.md Order example is valid and normalised', () => {
  const { definition: d, warnings } = parse(order());
  assert.deepEqual(warnings, []);
  assert.equal(initialStatus(d), 'new');
  assert.deepEqual(d.attributes[0], { key: 'order_number', type: 'string', required: true });
  assert.deepEqual(d.attributes[3], { key: 'paid', type: 'boolean', required: false, default: false });
  assert.deepEqual(d.attributes[4], { key: 'channel', type: 'enum', required: false, values: ['web', 'phone'] });
  assert.deepEqual(d.statuses[1], { key: 'received', name: 'Received', initial: false });
  assert.deepEqual(d.requirements[1], { key: 'has_email', condition: "$exists(customer_email) and customer_email != ''", message: 'Customer email is required', enforce: false });
  assert.deepEqual(d.transitions[2], { from: ['approved'], to: 'suspended', when: [], whenFailing: ['is_paid'], auto: true });
  assert.deepEqual(d.transitions[3], { from: ['suspended'], to: 'approved', when: ['is_paid'], whenFailing: [], auto: false });
  assert.equal(d.description, undefined);
  assert.ok(!('description' in d));
  // Parsing the normalised form again gives the same result (what GET returns can be PUT back).
  assert.deepEqual(parse(structuredClone(d)).definition, d);
});

test('minimal definition: status name defaults to its key', () => {
  const { definition } = parse({ name: 'T', statuses: [{ key: 'open', initial: true }] });
  assert.deepEqual(definition, { name: 'T', attributes: [], statuses: [{ key: 'open', name: 'open', initial: true }], requirements: [], transitions: [] });
});

test('a typo in a property name is an error, with a suggestion', () => {
  const body = order();
  (body.attributes[0] as Record<string, unknown>).requried = true;
  (body as Record<string, unknown>).descripton = 'x';
  const { code, fields } = failure(body);
  assert.equal(code, 'ENTITY_TYPE_INVALID');
  assert.deepEqual(pairs(fields), ['attributes[0].requried unknown', 'descripton unknown']);
  assert.match(has(fields, 'attributes[0].requried', 'unknown').message, /did you mean "required"/);
});

test('shape and type problems are mapped to readable paths', () => {
  const { fields } = failure({
    statuses: [{ key: 'open', initial: 'yes' }],
    attributes: [{ key: 'a', type: 'text' }, 'oops', { type: 'string' }],
    requirements: [{ key: 'r', condition: '', message: 'm', enforce: 1 }],
    transitions: [{ from: [], to: 7 }],
  });
  assert.deepEqual(pairs(fields), [
    'attributes[0].type enum',
    'attributes[1] type',
    'attributes[2].key required',
    'name required',
    'requirements[0].condition too_small',
    'requirements[0].enforce type',
    'statuses[0].initial type',
    'transitions[0].from too_small',
    'transitions[0].to type',
  ]);
  assert.deepEqual(pairs(failure(null).fields), ['(body) type']);
  assert.deepEqual(pairs(failure([]).fields), ['(body) type']);
});

test('every semantic problem is listed together', () => {
  const { code, fields } = failure({
    name: 'Bad',
    attributes: [
      { key: 'Total', type: 'number' },
      { key: 'now', type: 'datetime' },
      { key: 'a', type: 'string' },
      { key: 'a', type: 'number' },
      { key: 'e', type: 'enum' },
      { key: 'f', type: 'enum', values: ['x', 'y', 'x'] },
      { key: 'g', type: 'string', values: ['x'] },
      { key: 'h', type: 'integer', default: 1.5 },
      { key: 'i', type: 'enum', values: ['x'], default: 'z' },
      { key: 'j', type: 'date', default: '2025-02-30' },
      { key: 'k', type: 'json', default: null },
    ],
    statuses: [
      { key: 'one', initial: true },
      { key: 'two', initial: true },
      { key: 'one' },
    ],
    requirements: [
      { key: 'r', condition: 'a @@ 1', message: 'm' },
      { key: 'r', condition: 'true', message: 'm' },
      { key: 's', condition: 'true', message: 'm' },
    ],
    transitions: [
      { from: ['one', 'nowhere'], to: 'elsewhere', when: ['r', 'q'], whenFailing: ['r'] },
      { from: ['one', 'one'], to: 'one', when: ['s', 's'] },
      { from: ['one'], to: 'two', when: ['s'] },
      { from: ['one'], to: 'two', when: ['s'], auto: true },
    ],
  });
  assert.equal(code, 'ENTITY_TYPE_INVALID');
  assert.deepEqual(pairs(fields), [
    'attributes[0].key invalid_key',
    'attributes[10].default invalid_default',
    'attributes[1].key reserved_key',
    'attributes[3].key duplicate',
    'attributes[4].values values_required',
    'attributes[5].values[2] duplicate',
    'attributes[6].values values_not_allowed',
    'attributes[7].default invalid_default',
    'attributes[8].default invalid_default',
    'attributes[9].default invalid_default',
    'requirements[0].condition syntax_error',
    'requirements[1].key duplicate',
    'statuses[1].initial multiple_initial_statuses',
    'statuses[2].key duplicate',
    'transitions[0].from[1] unknown_status',
    'transitions[0].to unknown_status',
    'transitions[0].whenFailing[0] conflicting_requirement',
    'transitions[0].when[1] unknown_requirement',
    'transitions[1].from[1] duplicate',
    'transitions[1].to self_transition',
    'transitions[1].when[1] duplicate',
    'transitions[3] duplicate_transition',
  ]);
  assert.equal(has(fields, 'attributes[7].default', 'invalid_default').reason, 'type');
  assert.equal(has(fields, 'attributes[9].default', 'invalid_default').reason, 'format');
});

test('statuses: at least one, exactly one initial', () => {
  assert.deepEqual(pairs(failure({ name: 'T', statuses: [] }).fields), ['statuses no_statuses']);
  assert.deepEqual(pairs(failure({ name: 'T', statuses: [{ key: 'a' }, { key: 'b' }] }).fields), ['statuses no_initial_status']);
  assert.deepEqual(pairs(failure({ name: 'T' }).fields), ['statuses required']);
  // A status that failed to parse may be the initial one: no knock-on "no initial status".
  const typo = failure({ name: 'T', statuses: [{ key: 'a', initial: true, nmae: 'A', xy: 1 }] }).fields;
  assert.deepEqual(pairs(typo), ['statuses[0].nmae unknown', 'statuses[0].xy unknown']);
  assert.match(has(typo, 'statuses[0].nmae', 'unknown').message, /did you mean "name"/);
  assert.equal(has(typo, 'statuses[0].xy', 'unknown').message, 'is not a known property');
});

test('an invalid element does not cause knock-on unknown-key issues', () => {
  const body = order();
  (body.statuses[1] as Record<string, unknown>).colour = 'red';
  (body.requirements[3] as Record<string, unknown>).condition = 42;
  assert.deepEqual(pairs(failure(body).fields), ['requirements[3].condition type', 'statuses[1].colour unknown']);
});

test('expression problems alone give EXPRESSION_INVALID with line, column and caret', () => {
  const body = order();
  body.requirements[2]!.condition = 'total @@ 0';
  const { code, fields } = failure(body);
  assert.equal(code, 'EXPRESSION_INVALID');
  assert.equal(fields.length, 1);
  const f = has(fields, 'requirements[2].condition', 'syntax_error');
  assert.equal(f.line, 1);
  assert.equal(f.column, 7);
  assert.equal(f.position, 6);
  assert.equal(f.caret, 'total @@ 0\n      ^');
  assert.match(f.message, /line 1, column 7/);
});

test('a checker that throws is reported, not propagated', () => {
  const thrower: ExpressionChecker = () => {
    throw new Error('boom');
  };
  assert.throws(() => parseEntityTypeDefinition(order(), thrower), (e: unknown) => e instanceof AppError && e.code === 'EXPRESSION_INVALID');
});

test('unknown fields in expressions are warnings, with the attribute keys as known fields', () => {
  const body = order();
  body.requirements[2]!.condition = 'totl > 0';
  const { warnings } = parse(body);
  assert.deepEqual(warnings, [{ path: 'requirements[2].condition', code: 'unknown_field', message: '"totl" is not an attribute' }]);
});

test('limits and strings Postgres would reject', () => {
  const many = (n: number, f: (i: number) => unknown): unknown[] => Array.from({ length: n }, (_, i) => f(i));
  const { fields } = failure({
    name: 'x'.repeat(501),
    description: 'nul\u0000',
    statuses: many(101, (i) => ({ key: `s${i}`, initial: i === 0 })),
    attributes: many(501, (i) => ({ key: `a${i}`, type: 'string' })),
  });
  assert.deepEqual(pairs(fields), ['attributes too_large', 'description invalid_string', 'name too_large', 'statuses too_large']);
  const lone = failure({ name: 'T', statuses: [{ key: 'a', name: 'A\ud800', initial: true }] });
  assert.deepEqual(pairs(lone.fields), ['statuses[0].name invalid_string']);
  const body = order();
  body.requirements[0]!.message = 'm'.repeat(501);
  assert.deepEqual(pairs(failure(body).fields), ['requirements[0].message too_large']);
});

test('auto-transition cycles are refused, listing the statuses', () => {
  const body = order();
  body.transitions.push({ from: ['received'], to: 'new', whenFailing: ['is_paid'], auto: true });
  const { code, fields } = failure(body);
  assert.equal(code, 'ENTITY_TYPE_INVALID');
  const f = has(fields, 'transitions', 'auto_transition_cycle');
  assert.deepEqual(f.statuses, ['new', 'received']);
  assert.deepEqual(f.transitions, [0, 4]);
  assert.deepEqual(f.passing, ['has_email', 'positive_total']);
  assert.deepEqual(f.failing, ['is_paid']);
  assert.match(f.message, /new → received → new/);
});

test('the Order pattern is no cycle, even with both transitions auto', () => {
  const body = order();
  body.transitions[3]!.auto = true;
  assert.equal(parse(body).definition.transitions[3]!.auto, true);
});
