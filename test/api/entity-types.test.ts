/** /api/v1/entity-types: happy paths and every definition error, on each database. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ORDER_TYPE } from '../support/order.js';

const clone = <T>(v: T): T => structuredClone(v);

for (const dialect of DIALECTS) {
  describe(`entity types API on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(dialect);
    });
    after(() => t.close());

    test('PUT creates (201), repeats idempotently (200, same version), replaces with a new version', async () => {
      const created = await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE);
      assert.equal(created.statusCode, 201, created.body);
      const body = created.json();
      assert.equal(body.key, 'order');
      assert.equal(body.version, 1);
      assert.equal(body.name, 'Order');
      assert.equal(body.statuses.length, 4);
      assert.equal(body.attributes.find((a: { key: string }) => a.key === 'paid').default, false);
      assert.equal(body.requirements.find((r: { key: string }) => r.key === 'has_email').enforce, false, 'defaults are filled in');

      const again = await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE);
      assert.equal(again.statusCode, 200);
      assert.equal(again.json().version, 1);

      const changed = clone(ORDER_TYPE);
      changed.name = 'Sales order';
      const replaced = await t.call('PUT', '/api/v1/entity-types/order', changed);
      assert.equal(replaced.statusCode, 200);
      assert.equal(replaced.json().version, 2);
      assert.equal((await t.call('GET', '/api/v1/entity-types/order')).json().name, 'Sales order');
      await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE);
    });

    test('GET list and one; unknown → 404 ENTITY_TYPE_NOT_FOUND', async () => {
      await t.call('PUT', '/api/v1/entity-types/customer', { name: 'Customer', statuses: [{ key: 'active', name: 'Active', initial: true }] });
      const list = (await t.call('GET', '/api/v1/entity-types')).json();
      assert.deepEqual(list.items.map((x: { key: string }) => x.key), ['customer', 'order']);
      assert.equal(list.nextCursor, null);
      const paged = (await t.call('GET', '/api/v1/entity-types?limit=1')).json();
      assert.equal(paged.items.length, 1);
      const rest = (await t.call('GET', `/api/v1/entity-types?limit=1&cursor=${paged.nextCursor}`)).json();
      assert.deepEqual(rest.items.map((x: { key: string }) => x.key), ['order']);
      const missing = await t.call('GET', '/api/v1/entity-types/nope');
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error.code, 'ENTITY_TYPE_NOT_FOUND');
    });

    test('DELETE: 409 while entities exist, 204 after, then 404', async () => {
      await t.call('PUT', '/api/v1/entity-types/ticket', { name: 'Ticket', attributes: [{ key: 'title', type: 'string' }], statuses: [{ key: 'open', name: 'Open', initial: true }] });
      const e = (await t.call('POST', '/api/v1/entities/ticket', { attributes: { title: 'x' } })).json();
      const inUse = await t.call('DELETE', '/api/v1/entity-types/ticket');
      assert.equal(inUse.statusCode, 409);
      assert.equal(inUse.json().error.code, 'ENTITY_TYPE_IN_USE');
      assert.equal((await t.call('DELETE', `/api/v1/entities/ticket/${e.id}`)).statusCode, 204);
      assert.equal((await t.call('DELETE', '/api/v1/entity-types/ticket')).statusCode, 204);
      assert.equal((await t.call('GET', '/api/v1/entity-types/ticket')).statusCode, 404);
      assert.equal((await t.call('DELETE', '/api/v1/entity-types/ticket')).statusCode, 404);
    });

    const refusals: Array<[string, (d: ReturnType<typeof clone<typeof ORDER_TYPE>>) => unknown, string, string]> = [
      ['duplicate attribute keys', (d) => d.attributes.push({ key: 'total', type: 'number' }), 'ENTITY_TYPE_INVALID', 'attributes'],
      ['two initial statuses', (d) => (d.statuses[1]!.initial = true), 'ENTITY_TYPE_INVALID', 'statuses'],
      ['no initial status', (d) => (d.statuses[0]!.initial = false), 'ENTITY_TYPE_INVALID', 'statuses'],
      ['transition to an unknown status', (d) => (d.transitions[0]!.to = 'shipped'), 'ENTITY_TYPE_INVALID', 'transitions[0].to'],
      ['transition from an unknown status', (d) => (d.transitions[0]!.from = ['draft']), 'ENTITY_TYPE_INVALID', 'transitions[0].from'],
      ['transition naming an unknown requirement', (d) => (d.transitions[0]!.when = ['has_phone']), 'ENTITY_TYPE_INVALID', 'transitions[0].when'],
      ['an auto-transition cycle', (d) => d.transitions.push({ from: ['received'], to: 'new', when: ['has_email'], auto: true }), 'ENTITY_TYPE_INVALID', 'transitions'],
      ['unknown property (typo)', (d) => ((d.attributes[0] as Record<string, unknown>).requried = true), 'ENTITY_TYPE_INVALID', 'attributes[0]'],
      ['bad key', (d) => (d.statuses[0]!.key = 'New Orders'), 'ENTITY_TYPE_INVALID', 'statuses[0].key'],
      ['enum without values', (d) => delete (d.attributes[4] as Record<string, unknown>).values, 'ENTITY_TYPE_INVALID', 'attributes[4]'],
      ['default of the wrong type', (d) => ((d.attributes[3] as Record<string, unknown>).default = 'no'), 'ENTITY_TYPE_INVALID', 'attributes[3].default'],
      ['reserved attribute key', (d) => d.attributes.push({ key: 'entity', type: 'string' }), 'ENTITY_TYPE_INVALID', 'attributes[6].key'],
    ];
    for (const [name, mutate, code, pathPrefix] of refusals) {
      test(`PUT refuses ${name} with ${code} at ${pathPrefix}, and stores nothing`, async () => {
        const def = clone(ORDER_TYPE);
        mutate(def);
        const res = await t.call('PUT', '/api/v1/entity-types/order_bad', def);
        assert.equal(res.statusCode, 400, res.body);
        const err = res.json().error;
        assert.equal(err.code, code);
        assert.ok(err.message.length > 10);
        assert.ok(
          err.details.fields.some((f: { path: string }) => f.path.startsWith(pathPrefix)),
          `expected a field issue at ${pathPrefix}: ${JSON.stringify(err.details.fields)}`,
        );
        assert.equal((await t.call('GET', '/api/v1/entity-types/order_bad')).statusCode, 404);
      });
    }

    test('a bad expression is refused with its position and a caret, and every problem is listed', async () => {
      const def = clone(ORDER_TYPE);
      def.requirements[2]!.condition = 'total >';
      def.requirements[3]!.condition = 'paid = (true';
      const res = await t.call('PUT', '/api/v1/entity-types/order_bad', def);
      assert.equal(res.statusCode, 400);
      const err = res.json().error;
      assert.equal(err.code, 'EXPRESSION_INVALID');
      const paths = err.details.fields.map((f: { path: string }) => f.path);
      assert.deepEqual(paths, ['requirements[2].condition', 'requirements[3].condition']);
      const first = err.details.fields[0];
      assert.equal(first.line, 1);
      assert.equal(typeof first.column, 'number');
      assert.match(first.caret, /total >\n\s*\^/);
    });

    test('forbidden constructs in conditions are refused at definition time', async () => {
      for (const condition of ['$eval("1")', 'function($x){ $x }(1) = 1', '$contains(order_number, /(a+)+$/)']) {
        const def = clone(ORDER_TYPE);
        def.requirements[0]!.condition = condition;
        const res = await t.call('PUT', '/api/v1/entity-types/order_bad', def);
        assert.equal(res.statusCode, 400, condition);
        assert.equal(res.json().error.code, 'EXPRESSION_INVALID', condition);
        assert.equal(res.json().error.details.fields[0].path, 'requirements[0].condition');
      }
    });

    test('unknown attributes referenced by a condition are reported as warnings', async () => {
      const def = clone(ORDER_TYPE);
      def.requirements[2]!.condition = 'totl > 0';
      const res = await t.call('PUT', '/api/v1/entity-types/order_warn', def);
      assert.equal(res.statusCode, 201);
      const warnings = res.json().warnings;
      assert.ok(Array.isArray(warnings) && warnings.some((w: { path: string; message: string }) => w.path === 'requirements[2].condition' && /totl/.test(w.message)), JSON.stringify(warnings));
    });

    test('an invalid key in the path → 400 INVALID_KEY', async () => {
      const res = await t.call('PUT', '/api/v1/entity-types/Order', ORDER_TYPE);
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.code, 'INVALID_KEY');
    });
  });
}
