import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, type FieldIssue } from './errors.js';
import { applyAttributePatch, jsonEqual, utf8Length, validateAttributeValue } from './attributes.js';
import type { AttributeDef, AttributeType, EntityTypeDefinition } from './entity-type.js';

const attr = (type: AttributeType, extra: Partial<AttributeDef> = {}): AttributeDef => ({ key: 'x', type, required: false, ...extra });
const code = (type: AttributeType, value: unknown, extra: Partial<AttributeDef> = {}): string | null =>
  validateAttributeValue(attr(type, extra), value)?.code ?? null;

const def: EntityTypeDefinition = {
  name: 'Order',
  attributes: [
    { key: 'order_number', type: 'string', required: true },
    { key: 'total', type: 'number', required: false },
    { key: 'paid', type: 'boolean', required: false, default: false },
    { key: 'channel', type: 'enum', required: false, values: ['web', 'phone'] },
    { key: 'lines', type: 'json', required: false, default: [] },
    { key: 'count', type: 'integer', required: false },
  ],
  statuses: [{ key: 'new', name: 'New', initial: true }],
  requirements: [],
  transitions: [],
};

function fields(fn: () => unknown): FieldIssue[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'ATTRIBUTES_INVALID');
    return (e.details as { fields: FieldIssue[] }).fields;
  }
  assert.fail('expected ATTRIBUTES_INVALID');
}
const pairs = (issues: FieldIssue[]): string[] => issues.map((i) => `${i.path} ${i.code}`).sort();

test('string: any clean string up to 64 KiB', () => {
  assert.equal(code('string', ''), null);
  assert.equal(code('string', 'héllo 😀'), null);
  assert.equal(code('string', 3), 'type');
  assert.equal(code('string', 'a\u0000b'), 'invalid_string');
  assert.equal(code('string', 'a\ud800'), 'invalid_string');
  assert.equal(code('string', '\udc00a'), 'invalid_string');
  assert.equal(code('string', 'é'.repeat(32 * 1024)), null); // exactly 65536 bytes
  assert.equal(code('string', 'é'.repeat(32 * 1024) + 'a'), 'too_large');
  assert.equal(code('string', 'a'.repeat(64 * 1024 + 1)), 'too_large');
  assert.equal(utf8Length('a€😀'), 1 + 3 + 4);
});

test('number and integer: finite, safe', () => {
  assert.equal(code('number', 1.5), null);
  assert.equal(code('number', -0), null);
  assert.equal(code('number', NaN), 'type');
  assert.equal(code('number', Infinity), 'type');
  assert.equal(code('number', -Infinity), 'type');
  assert.equal(code('number', '1'), 'type');
  assert.equal(code('integer', 42), null);
  assert.equal(code('integer', 2 ** 53 - 1), null);
  assert.equal(code('integer', 2 ** 53), 'type');
  assert.equal(code('integer', 1.5), 'type');
  assert.equal(code('integer', NaN), 'type');
  assert.equal(code('boolean', false), null);
  assert.equal(code('boolean', 'true'), 'type');
  assert.equal(code('boolean', null), 'type');
});

test('date: a real calendar date written YYYY-MM-DD', () => {
  for (const ok of ['2025-01-31', '2024-02-29', '2000-02-29', '0001-01-01']) assert.equal(code('date', ok), null, ok);
  for (const bad of ['2025-02-30', '2025-02-29', '1900-02-29', '2025-13-01', '2025-00-10', '2025-04-31', '2025-1-01', '20250101', '2025-01-01T00:00:00Z', ' 2025-01-01']) {
    assert.equal(code('date', bad), 'format', bad);
  }
  assert.equal(code('date', 20250101), 'type');
});

test('datetime: ISO 8601 with a time and a zone, a real instant', () => {
  for (const ok of ['2025-01-01T10:00:00Z', '2025-01-01T10:00Z', '2025-01-01T10:00:00.123Z', '2025-01-01T10:00:00.123456789+02:00', '2024-02-29T23:59:59-05:30']) {
    assert.equal(code('datetime', ok), null, ok);
  }
  for (const bad of ['2025-01-01T10:00:00', '2025-01-01', '2025-02-30T10:00:00Z', '2025-01-01T24:00:00Z', '2025-01-01T10:60:00Z', '2025-01-01T10:00:60Z', '2025-01-01 10:00:00Z', '2025-01-01T10:00:00+0200', '2025-01-01T10:00:00+24:00']) {
    assert.equal(code('datetime', bad), 'format', bad);
  }
  assert.equal(code('datetime', Date.now()), 'type');
});

test('enum: one of the values', () => {
  assert.equal(code('enum', 'web', { values: ['web', 'phone'] }), null);
  const issue = validateAttributeValue(attr('enum', { values: ['web', 'phone'] }), 'fax');
  assert.equal(issue?.code, 'enum');
  assert.deepEqual(issue?.allowed, ['web', 'phone']);
  assert.equal(code('enum', 1, { values: ['1'] }), 'enum');
});

test('json: any JSON value, deeply checked', () => {
  assert.equal(code('json', { a: [1, 'x', null, true, { b: {} }] }), null);
  assert.equal(code('json', 'text'), null);
  assert.equal(code('json', 0), null);
  assert.equal(code('json', { a: [NaN] }), 'type');
  assert.equal(code('json', { a: undefined }), 'type');
  assert.equal(code('json', [1, , 3]), 'type');
  assert.equal(code('json', { d: new Date() }), 'type');
  assert.equal(code('json', { f: () => 1 }), 'type');
  assert.equal(code('json', { n: 1n }), 'type');
  assert.equal(code('json', { s: 'a\u0000' }), 'invalid_string');
  assert.equal(code('json', { ['k\ud800']: 1 }), 'invalid_string');
  assert.equal(code('json', ['x'.repeat(70_000)]), 'too_large');
  const issue = validateAttributeValue(attr('json'), { a: [{ 'b/c': Infinity }] });
  assert.equal(issue?.at, '/a/0/b~1c');
  const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);
  assert.equal(code('json', nest(32)), null);
  assert.equal(code('json', nest(33)), 'too_large');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(code('json', cyclic), 'too_large');
});

test('json equality ignores key order', () => {
  assert.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!jsonEqual([1], { 0: 1 }));
  assert.ok(!jsonEqual(null, {}));
});

test('create: defaults fill missing attributes, changed is sorted', () => {
  const { attributes, changed } = applyAttributePatch(def, undefined, { order_number: 'ORD-1', total: 10 }, 'create');
  assert.deepEqual(attributes, { order_number: 'ORD-1', total: 10, paid: false, lines: [] });
  assert.deepEqual(changed, ['lines', 'order_number', 'paid', 'total']);
  // Defaults are copies: changing one entity's value does not change the definition.
  (attributes.lines as unknown[]).push(1);
  assert.deepEqual(def.attributes[4]!.default, []);
  // An explicit value wins over the default; undefined and null count as missing.
  const b = applyAttributePatch(def, undefined, { order_number: 'ORD-2', paid: true, total: undefined, lines: null }, 'create');
  assert.deepEqual(b.attributes, { order_number: 'ORD-2', paid: true, lines: [] });
  // No attributes at all: same as {}.
  assert.deepEqual(pairs(fields(() => applyAttributePatch(def, undefined, undefined, 'create'))), ['attributes.order_number required']);
});

test('every problem is listed together', () => {
  const issues = fields(() =>
    applyAttributePatch(def, undefined, { total: Infinity, channel: 'fax', colour: 'red', count: 1.5, lines: { a: '\ud800' } }, 'create'),
  );
  assert.deepEqual(pairs(issues), [
    'attributes.channel enum',
    'attributes.colour unknown',
    'attributes.count type',
    'attributes.lines invalid_string',
    'attributes.order_number required',
    'attributes.total type',
  ]);
});

test('a body that is not an object', () => {
  for (const bad of [null, [], 'x', 3]) {
    assert.deepEqual(pairs(fields(() => applyAttributePatch(def, undefined, bad, 'create'))), ['attributes not_object']);
  }
});

test('update: merges, null removes, defaults do not apply, changed uses deep equality', () => {
  const current = { order_number: 'ORD-1', total: 10, lines: [{ sku: 'a', qty: 1 }] };
  const r = applyAttributePatch(def, current, { total: null, lines: [{ qty: 1, sku: 'a' }], channel: 'web' }, 'update');
  assert.deepEqual(r.attributes, { order_number: 'ORD-1', lines: [{ qty: 1, sku: 'a' }], channel: 'web' });
  assert.deepEqual(r.changed, ['channel', 'total']);
  assert.deepEqual(current.total, 10, 'current is not mutated');
  assert.deepEqual(applyAttributePatch(def, current, {}, 'update').changed, []);
  assert.deepEqual(applyAttributePatch(def, current, { total: 10 }, 'update').changed, []);
});

test('update: required attributes must stay present', () => {
  const current = { order_number: 'ORD-1' };
  assert.deepEqual(pairs(fields(() => applyAttributePatch(def, current, { order_number: null }, 'update'))), ['attributes.order_number required']);
  // An entity stored before the attribute became required must get it with its next save.
  assert.deepEqual(pairs(fields(() => applyAttributePatch(def, { total: 1 }, { total: 2 }, 'update'))), ['attributes.order_number required']);
});

test('update: attributes the definition no longer declares are kept', () => {
  const r = applyAttributePatch(def, { order_number: 'ORD-1', legacy: 1 }, { total: 3 }, 'update');
  assert.deepEqual(r.attributes, { order_number: 'ORD-1', legacy: 1, total: 3 });
  assert.deepEqual(pairs(fields(() => applyAttributePatch(def, { order_number: 'ORD-1', legacy: 1 }, { legacy: 2 }, 'update'))), [
    'attributes.legacy unknown',
  ]);
});

test('a key like __proto__ is just an unknown attribute', () => {
  const patch = JSON.parse('{"__proto__": {"polluted": true}, "order_number": "ORD-1"}') as unknown;
  assert.deepEqual(pairs(fields(() => applyAttributePatch(def, undefined, patch, 'create'))), ['attributes.__proto__ unknown']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
