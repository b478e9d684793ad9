/** /api/v1/entities: the save pipeline end to end over HTTP, on each database. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ORDER_TYPE } from '../support/order.js';

for (const dialect of DIALECTS) {
  describe(`entities API on ${dialect}`, () => {
    let t: TestApp;
    const events = async (id: string) => (await t.call('GET', `/api/v1/entities/order/${id}/events`)).json().items;

    before(async () => {
      t = await startTestApp(dialect);
      assert.equal((await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE)).statusCode, 201);
    });
    after(() => t.close());

    test('create: defaults, requirements, auto transitions to a fixpoint, one event', async () => {
      const res = await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-1', total: 120, customer_email: 'a@b.co' } });
      assert.equal(res.statusCode, 201, res.body);
      const e = res.json();
      assert.equal(e.type, 'order');
      assert.equal(e.status, 'received');
      assert.equal(e.version, 1);
      assert.deepEqual(e.statusPath, ['new', 'received']);
      assert.deepEqual(e.queuedRuns, []);
      assert.equal(e.attributes.paid, false, 'default applied');
      assert.equal(res.headers.etag, '"1"');
      const byKey = Object.fromEntries(e.requirements.map((r: { key: string; passed: boolean }) => [r.key, r.passed]));
      assert.deepEqual(byKey, { number_format: true, has_email: true, positive_total: true, is_paid: false });
      assert.equal(e.requirements.find((r: { key: string }) => r.key === 'is_paid').message, 'Order is not paid');
      const evs = await events(e.id);
      assert.equal(evs.length, 1);
      assert.equal(evs[0].kind, 'created');
      assert.deepEqual(evs[0].statusPath, ['new', 'received']);
      assert.equal(evs[0].actor.type, 'api_key');
    });

    test('paid in the same save goes new → received → approved; unpaying suspends; asking for approved again works', async () => {
      const e = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-2', total: 5, customer_email: 'c@d.co', paid: true } })).json();
      assert.deepEqual(e.statusPath, ['new', 'received', 'approved']);
      const unpaid = await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { attributes: { paid: false } });
      assert.equal(unpaid.statusCode, 200, unpaid.body);
      assert.deepEqual(unpaid.json().statusPath, ['approved', 'suspended']);
      assert.equal(unpaid.json().version, 2);
      // suspended → approved is not automatic: paying alone keeps it suspended …
      const paid = (await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { attributes: { paid: true } })).json();
      assert.equal(paid.status, 'suspended');
      // … until someone asks for it.
      const approved = await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { status: 'approved' });
      assert.equal(approved.statusCode, 200, approved.body);
      assert.deepEqual(approved.json().statusPath, ['suspended', 'approved']);
      const evs = await events(e.id);
      assert.deepEqual(evs.map((x: { entityVersion: number }) => x.entityVersion), [1, 2, 3, 4]);
      assert.deepEqual(evs[1].changes, { paid: { from: true, to: false } });
    });

    test('an enforced requirement refuses the save with 422 and writes nothing', async () => {
      const before = (await t.call('GET', '/api/v1/entities/order')).json().items.length;
      const res = await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'nope', total: 1 } });
      assert.equal(res.statusCode, 422);
      const err = res.json().error;
      assert.equal(err.code, 'ENTITY_REQUIREMENTS_FAILED');
      assert.deepEqual(err.details.requirements, [{ key: 'number_format', message: 'Order number must look like ORD-123' }]);
      assert.equal((await t.call('GET', '/api/v1/entities/order')).json().items.length, before);

      const e = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-3' } })).json();
      const refused = await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { attributes: { order_number: 'bad', total: 3 } });
      assert.equal(refused.statusCode, 422);
      const now = (await t.call('GET', `/api/v1/entities/order/${e.id}`)).json();
      assert.equal(now.version, 1);
      assert.equal(now.attributes.order_number, 'ORD-3');
      assert.equal(now.attributes.total, undefined);
      assert.equal((await events(e.id)).length, 1);
    });

    test('asking for a status: undeclared → 422 TRANSITION_NOT_ALLOWED; unmet → 422 naming the requirements', async () => {
      const e = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-4' } })).json();
      assert.equal(e.status, 'new');
      const notAllowed = await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { status: 'suspended' });
      assert.equal(notAllowed.statusCode, 422);
      assert.equal(notAllowed.json().error.code, 'TRANSITION_NOT_ALLOWED');
      const unmet = await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { status: 'received' });
      assert.equal(unmet.statusCode, 422);
      assert.equal(unmet.json().error.code, 'TRANSITION_REQUIREMENTS_UNMET');
      assert.deepEqual(unmet.json().error.details.requirements.map((r: { key: string }) => r.key).sort(), ['has_email', 'positive_total']);
      assert.equal((await t.call('GET', `/api/v1/entities/order/${e.id}`)).json().version, 1);
      const unknown = await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { status: 'shipped' });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.json().error.code, 'STATUS_UNKNOWN');
    });

    test('If-Match: the current version saves, an old one → 409 VERSION_CONFLICT', async () => {
      const e = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-5' } })).json();
      const ok = await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { attributes: { total: 1 } }, { headers: { 'if-match': '"1"' } });
      assert.equal(ok.statusCode, 200);
      const stale = await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { attributes: { total: 2 } }, { headers: { 'if-match': '"1"' } });
      assert.equal(stale.statusCode, 409);
      assert.equal(stale.json().error.code, 'VERSION_CONFLICT');
      assert.equal(stale.json().error.details.currentVersion, 2);
      assert.equal((await t.call('GET', `/api/v1/entities/order/${e.id}`)).json().attributes.total, 1);
    });

    test('concurrent PATCHes without If-Match all land, each exactly once', async () => {
      const e = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-6', lines: [] } })).json();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => t.call('PATCH', `/api/v1/entities/order/${e.id}`, { attributes: { total: i + 1 } })),
      );
      for (const r of results) assert.equal(r.statusCode, 200, r.body);
      const now = (await t.call('GET', `/api/v1/entities/order/${e.id}`)).json();
      assert.equal(now.version, 9);
      assert.equal((await events(e.id)).length, 9);
    });

    test('GET one shows current requirement results; null removes an attribute; unknown id → 404', async () => {
      const e = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-7', total: 3, channel: 'web' } })).json();
      const got = (await t.call('GET', `/api/v1/entities/order/${e.id}`)).json();
      assert.equal(got.requirements.find((r: { key: string }) => r.key === 'positive_total').passed, true);
      const cleared = (await t.call('PATCH', `/api/v1/entities/order/${e.id}`, { attributes: { channel: null } })).json();
      assert.equal('channel' in cleared.attributes, false);
      const missing = await t.call('GET', '/api/v1/entities/order/01jaaaaaaaaaaaaaaaaaaaaaaa');
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error.code, 'ENTITY_NOT_FOUND');
    });

    test('list: by status, where (JSONata), paging with cursors, newest first', async () => {
      await t.call('PUT', '/api/v1/entity-types/item', {
        name: 'Item',
        attributes: [{ key: 'n', type: 'integer', required: true }],
        statuses: [{ key: 'small', name: 'Small', initial: true }, { key: 'big', name: 'Big' }],
        requirements: [{ key: 'is_big', condition: 'n >= 10', message: 'n is small' }],
        transitions: [{ from: ['small'], to: 'big', when: ['is_big'], auto: true }],
      });
      for (let n = 1; n <= 25; n++) assert.equal((await t.call('POST', '/api/v1/entities/item', { attributes: { n } })).statusCode, 201);
      const big = (await t.call('GET', '/api/v1/entities/item?status=big&limit=500')).json();
      assert.equal(big.items.length, 16);
      assert.deepEqual(big.items.slice(0, 3).map((x: { attributes: { n: number } }) => x.attributes.n), [25, 24, 23]);
      const both = (await t.call('GET', '/api/v1/entities/item?status=big,small')).json();
      assert.equal(both.items.length, 25);

      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const res: { items: Array<{ attributes: { n: number } }>; nextCursor: string | null } = (
          await t.call('GET', `/api/v1/entities/item?limit=10${cursor ? `&cursor=${cursor}` : ''}`)
        ).json();
        seen.push(...res.items.map((x) => x.attributes.n));
        cursor = res.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => 25 - i));

      const where = encodeURIComponent('n % 2 = 0 and n > 10');
      const even = (await t.call('GET', `/api/v1/entities/item?where=${where}&limit=3`)).json();
      assert.deepEqual(even.items.map((x: { attributes: { n: number } }) => x.attributes.n), [24, 22, 20]);
      const more = (await t.call('GET', `/api/v1/entities/item?where=${where}&limit=3&cursor=${even.nextCursor}`)).json();
      assert.deepEqual(more.items.map((x: { attributes: { n: number } }) => x.attributes.n), [18, 16, 14]);
      const viaEntity = (await t.call('GET', `/api/v1/entities/item?where=${encodeURIComponent("entity.status = 'small'")}&limit=500`)).json();
      assert.equal(viaEntity.items.length, 9);
    });

    test('DELETE → 204, then 404; its events stay readable with a deleted event', async () => {
      const e = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-8' } })).json();
      assert.equal((await t.call('DELETE', `/api/v1/entities/order/${e.id}`)).statusCode, 204);
      assert.equal((await t.call('GET', `/api/v1/entities/order/${e.id}`)).statusCode, 404);
      assert.equal((await t.call('DELETE', `/api/v1/entities/order/${e.id}`)).statusCode, 404);
      const evs = await events(e.id);
      assert.deepEqual(evs.map((x: { kind: string }) => x.kind), ['created', 'deleted']);
    });

    test('saves against an unknown type → 404 ENTITY_TYPE_NOT_FOUND', async () => {
      const res = await t.call('POST', '/api/v1/entities/invoice', { attributes: {} });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'ENTITY_TYPE_NOT_FOUND');
    });

    test('replacing the type is seen by the next save', async () => {
      const def = structuredClone(ORDER_TYPE);
      def.requirements[2]!.condition = 'total > 1000';
      await t.call('PUT', '/api/v1/entity-types/order', def);
      const e = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-9', total: 500, customer_email: 'x@y.z' } })).json();
      assert.equal(e.status, 'new');
      await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE);
      const e2 = (await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-10', total: 500, customer_email: 'x@y.z' } })).json();
      assert.equal(e2.status, 'received');
    });
  });
}
