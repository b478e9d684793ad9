/**
 * Authentication, roles and organization isolation over the REST API, on SQLite and (with
 * TEST_DATABASE_URL) Postgres: who may call what, that refused calls write nothing, and that one
 * organization can neither see nor change another's entity types, entities or API keys.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { newId } from '../../src/domain/ids.js';
import { KEY_CACHE_MS } from '../../src/engine/access.js';
import { ADMIN_KEY, startTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { ORDER_TYPE } from '../support/order.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface KeyView {
  id: string;
  name: string;
  role: string;
  keyPrefix: string;
  createdAt: string;
  key?: string;
}

interface Entity {
  id: string;
  type: string;
  status: string;
  version: number;
  attributes: Record<string, unknown>;
}

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  const where = `${res.statusCode} ${res.body.slice(0, 400)}`;
  assert.equal(res.statusCode, status, where);
  assert.match(String(res.headers['content-type']), /^application\/json/, where);
  const body = res.json<{ error: { code: string; message: string } }>();
  assert.equal(body.error?.code, code, where);
  assert.equal(typeof body.error.message, 'string', where);
  assert.ok(body.error.message.length >= 10, where);
}

function expectStatus(res: LightMyRequestResponse, status: number, label = ''): void {
  assert.equal(res.statusCode, status, `${label} ${res.body.slice(0, 400)}`);
}

/** B's version of `order`: same key, a different definition. */
const ORDER_TYPE_B = {
  name: 'Order (org B)',
  attributes: [
    { key: 'ref', type: 'string', required: true },
    { key: 'amount', type: 'integer' },
  ],
  statuses: [
    { key: 'open', name: 'Open', initial: true },
    { key: 'closed', name: 'Closed' },
  ],
  requirements: [{ key: 'has_amount', condition: '$exists(amount)', message: 'Amount is missing' }],
  transitions: [{ from: ['open'], to: 'closed', when: ['has_amount'] }],
};

const SIMPLE_TYPE = {
  name: 'Simple',
  attributes: [{ key: 'label', type: 'string' }],
  statuses: [{ key: 'new', initial: true }],
};

for (const dialect of DIALECTS) {
  describe(`auth and organizations on ${dialect}`, () => {
    let t: TestApp;
    let orderId: string;

    /** Row counts and version sums of every table: changes on any write. */
    async function fingerprint(): Promise<Record<string, string>> {
      const row = await t.services.database.db
        .selectNoFrom((eb) => [
          eb.selectFrom('organizations').select(eb.fn.countAll().as('n')).as('organizations'),
          eb.selectFrom('api_keys').select(eb.fn.countAll().as('n')).as('api_keys'),
          eb.selectFrom('entity_types').select(eb.fn.countAll().as('n')).as('entity_types'),
          eb.selectFrom('entity_types').select((e) => e.fn.sum('version').as('n')).as('entity_type_version_sum'),
          eb.selectFrom('entity_type_versions').select(eb.fn.countAll().as('n')).as('entity_type_versions'),
          eb.selectFrom('entities').select(eb.fn.countAll().as('n')).as('entities'),
          eb.selectFrom('entities').select((e) => e.fn.sum('version').as('n')).as('entity_version_sum'),
          eb.selectFrom('entity_events').select(eb.fn.countAll().as('n')).as('entity_events'),
        ])
        .executeTakeFirstOrThrow();
      return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)]));
    }

    async function createKey(role: string, key: string = ADMIN_KEY, name = `${role} key`): Promise<KeyView & { key: string }> {
      const res = await t.call('POST', '/api/v1/api-keys', { name, role }, { key });
      expectStatus(res, 201, `create ${role} key`);
      const body = res.json<KeyView & { key: string }>();
      assert.equal(body.role, role);
      assert.equal(body.name, name);
      assert.match(body.key, /^sf_[A-Za-z0-9_-]{20,}$/);
      assert.equal(body.keyPrefix, body.key.slice(0, body.keyPrefix.length));
      assert.ok(body.keyPrefix.length >= 4 && body.keyPrefix.length < body.key.length / 2, 'the prefix is short');
      return body;
    }

    async function createOrder(key: string, attributes: Record<string, unknown>, type = 'order'): Promise<Entity> {
      const res = await t.call('POST', `/api/v1/entities/${type}`, { attributes }, { key });
      expectStatus(res, 201, 'create entity');
      return res.json<Entity>();
    }

    before(async () => {
      t = await startTestApp(dialect);
      await t.services.evaluator.evaluateMany(['true'], {}); // start the expression worker
      expectStatus(await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE), 201);
      orderId = (await createOrder(ADMIN_KEY, { order_number: 'ORD-1' })).id;
    });
    after(() => t.close());

    describe('authentication', () => {
      test('every route but health and the OpenAPI document needs a key: 401 UNAUTHENTICATED, nothing written', async () => {
        const spec = (await t.call('GET', '/api/v1/openapi.json', undefined, { key: null })).json<{ paths: Record<string, Record<string, unknown>> }>();
        const routes: Array<[Method, string]> = [];
        for (const [path, ops] of Object.entries(spec.paths)) {
          for (const method of Object.keys(ops)) {
            if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) routes.push([method.toUpperCase() as Method, path]);
          }
        }
        const listed = routes.map(([m, p]) => `${m} ${p}`);
        // The routes of API.md this build serves must all be in the document (so the loop below covers them).
        for (const expected of [
          'PUT /api/v1/entity-types/{key}', 'GET /api/v1/entity-types', 'GET /api/v1/entity-types/{key}', 'DELETE /api/v1/entity-types/{key}',
          'POST /api/v1/entities/{type}', 'GET /api/v1/entities/{type}', 'GET /api/v1/entities/{type}/{id}', 'PATCH /api/v1/entities/{type}/{id}',
          'DELETE /api/v1/entities/{type}/{id}', 'GET /api/v1/entities/{type}/{id}/events',
          'POST /api/v1/api-keys', 'GET /api/v1/api-keys', 'DELETE /api/v1/api-keys/{id}', 'POST /api/v1/organizations', 'GET /api/v1/health',
        ]) {
          assert.ok(listed.includes(expected), `${expected} is in the OpenAPI document: ${listed.join(', ')}`);
        }
        const keyRow = (await t.call('GET', '/api/v1/api-keys')).json<{ items: KeyView[] }>().items[0]!;
        const fill = (path: string) =>
          path.replace('{key}', 'order').replace('{type}', 'order').replace('{id}', path.startsWith('/api/v1/api-keys') ? keyRow.id : orderId);
        const bodies: Record<string, unknown> = {
          '/api/v1/entity-types/{key}': { ...ORDER_TYPE, name: 'Changed' },
          '/api/v1/entities/{type}': { attributes: { order_number: 'ORD-2' } },
          '/api/v1/entities/{type}/{id}': { attributes: { order_number: 'ORD-3' } },
          '/api/v1/api-keys': { name: 'sneaky', role: 'admin' },
          '/api/v1/organizations': { name: 'Sneaky' },
        };
        const before = await fingerprint();
        for (const [method, path] of routes) {
          const url = fill(path);
          const body = method === 'GET' || method === 'DELETE' ? undefined : bodies[path] ?? {};
          if (path === '/api/v1/health') {
            expectStatus(await t.call(method, url, undefined, { key: null }), 200, url);
            continue;
          }
          for (const headers of <Array<Record<string, string>>>[{}, { authorization: '' }, { authorization: 'Basic x' }, { authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` }, { authorization: 'Bearer' }, { authorization: 'Bearer ' }]) {
            expectError(await t.call(method, url, body, { key: null, headers }), 401, 'UNAUTHENTICATED');
          }
        }
        assert.deepEqual(await fingerprint(), before, 'unauthenticated requests wrote something');
        const openapi = await t.call('GET', '/api/v1/openapi.json', undefined, { key: null });
        expectStatus(openapi, 200);
        assert.equal(openapi.json<{ openapi: string }>().openapi.startsWith('3.'), true);
      });

      test('malformed Authorization headers → 401', async () => {
        for (const authorization of [
          'Basic x',
          'Bearer',
          'Bearer ',
          `Token ${ADMIN_KEY}`,
          `${ADMIN_KEY}`,
          `Bearer ${ADMIN_KEY} extra`,
          `Bearer "${ADMIN_KEY}"`,
          `Bearer ${ADMIN_KEY},Bearer ${ADMIN_KEY}`,
        ]) {
          expectError(await t.call('GET', '/api/v1/entity-types', undefined, { key: null, headers: { authorization } }), 401, 'UNAUTHENTICATED');
        }
        // the scheme is case-insensitive (RFC 9110) and surrounding whitespace is fine
        for (const authorization of [`bearer ${ADMIN_KEY}`, `BEARER ${ADMIN_KEY}`, `Bearer   ${ADMIN_KEY}  `]) {
          expectStatus(await t.call('GET', '/api/v1/entity-types', undefined, { key: null, headers: { authorization } }), 200, authorization);
        }
      });

      test('unknown keys → 401, including near misses of a real key', async () => {
        const before = await fingerprint();
        for (const key of [
          'sf_this_key_does_not_exist_000000',
          ADMIN_KEY.slice(0, -1),
          `${ADMIN_KEY}x`,
          ADMIN_KEY.toUpperCase(),
          createHash('sha256').update(ADMIN_KEY).digest('hex'), // the stored hash is not a key
          'short',
          'k'.repeat(5000),
          "sf_' OR '1'='1' --xxxxxxxxxx",
        ]) {
          expectError(await t.call('GET', '/api/v1/entity-types', undefined, { key }), 401, 'UNAUTHENTICATED');
          expectError(await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-9' } }, { key }), 401, 'UNAUTHENTICATED');
        }
        assert.deepEqual(await fingerprint(), before);
      });
    });

    describe('roles', () => {
      let viewer: KeyView & { key: string };
      let operator: KeyView & { key: string };
      let editor: KeyView & { key: string };

      before(async () => {
        viewer = await createKey('viewer');
        operator = await createKey('operator');
        editor = await createKey('editor');
      });

      test('the key is shown once; the key list never shows keys or hashes, only prefixes', async () => {
        const res = await t.call('GET', '/api/v1/api-keys');
        expectStatus(res, 200);
        const { items, nextCursor } = res.json<{ items: KeyView[]; nextCursor: string | null }>();
        assert.equal(nextCursor, null);
        for (const k of [viewer, operator, editor]) {
          const row = items.find((i) => i.id === k.id);
          assert.ok(row, `${k.role} key is listed`);
          assert.deepEqual(Object.keys(row).sort(), ['createdAt', 'id', 'keyPrefix', 'name', 'role']);
          assert.equal(row.keyPrefix, k.keyPrefix);
          assert.equal(row.role, k.role);
        }
        assert.ok(items.some((i) => i.role === 'admin' && ADMIN_KEY.startsWith(i.keyPrefix)), 'the admin key is listed by prefix');
        for (const secret of [ADMIN_KEY, viewer.key, operator.key, editor.key]) {
          assert.ok(!res.body.includes(secret), 'a key appears in the list');
          assert.ok(!res.body.includes(createHash('sha256').update(secret).digest('hex')), 'a key hash appears in the list');
        }
        assert.doesNotMatch(res.body, /hash/i);
      });

      test('creating a key with a bad body → 400 VALIDATION_FAILED, nothing written', async () => {
        const before = await fingerprint();
        for (const body of [{ name: 'x', role: 'superuser' }, { name: '', role: 'viewer' }, { role: 'viewer' }, { name: 'x' }, { name: 'x', role: 'viewer', key: 'sf_chosen_by_me_0000000' }, []]) {
          expectError(await t.call('POST', '/api/v1/api-keys', body), 400, 'VALIDATION_FAILED');
        }
        assert.deepEqual(await fingerprint(), before);
      });

      test('viewer: reads 200, every write 403 FORBIDDEN, nothing written', async () => {
        const key = viewer.key;
        for (const url of ['/api/v1/entity-types', '/api/v1/entity-types/order', '/api/v1/entities/order', `/api/v1/entities/order/${orderId}`, `/api/v1/entities/order/${orderId}/events`, `/api/v1/entities/order?where=${encodeURIComponent('paid = false')}`]) {
          expectStatus(await t.call('GET', url, undefined, { key }), 200, url);
        }
        const before = await fingerprint();
        const writes: Array<[Method, string, unknown?]> = [
          ['PUT', '/api/v1/entity-types/order', { ...ORDER_TYPE, name: 'Viewer was here' }],
          ['PUT', '/api/v1/entity-types/viewer_type', SIMPLE_TYPE],
          ['DELETE', '/api/v1/entity-types/order'],
          ['POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-5' } }],
          ['PATCH', `/api/v1/entities/order/${orderId}`, { attributes: { total: 99 } }],
          ['DELETE', `/api/v1/entities/order/${orderId}`],
          ['POST', '/api/v1/api-keys', { name: 'escalate', role: 'admin' }],
          ['GET', '/api/v1/api-keys'],
          ['DELETE', `/api/v1/api-keys/${viewer.id}`],
          ['DELETE', `/api/v1/api-keys/${operator.id}`],
          ['POST', '/api/v1/organizations', { name: 'Viewer org' }],
        ];
        for (const [method, url, body] of writes) expectError(await t.call(method, url, body, { key }), 403, 'FORBIDDEN');
        assert.deepEqual(await fingerprint(), before);
      });

      test('operator: entity writes OK; entity types, API keys and organizations 403', async () => {
        const key = operator.key;
        expectStatus(await t.call('GET', '/api/v1/entity-types/order', undefined, { key }), 200);
        const created = await createOrder(key, { order_number: 'ORD-10' });
        const patched = await t.call('PATCH', `/api/v1/entities/order/${created.id}`, { attributes: { total: 5 } }, { key });
        expectStatus(patched, 200);
        assert.equal(patched.json<Entity>().version, 2);
        expectStatus(await t.call('DELETE', `/api/v1/entities/order/${created.id}`, undefined, { key }), 204);
        const events = (await t.call('GET', `/api/v1/entities/order/${created.id}/events`, undefined, { key })).json<{ items: Array<{ actor: { id: string } }> }>();
        assert.deepEqual(events.items.map((e) => e.actor.id), [operator.id, operator.id, operator.id], 'events record the operator key as actor');

        const before = await fingerprint();
        for (const [method, url, body] of [
          ['PUT', '/api/v1/entity-types/order', { ...ORDER_TYPE, name: 'Operator was here' }],
          ['PUT', '/api/v1/entity-types/operator_type', SIMPLE_TYPE],
          ['DELETE', '/api/v1/entity-types/order'],
          ['POST', '/api/v1/api-keys', { name: 'escalate', role: 'admin' }],
          ['GET', '/api/v1/api-keys'],
          ['DELETE', `/api/v1/api-keys/${viewer.id}`],
          ['POST', '/api/v1/organizations', { name: 'Operator org' }],
        ] as Array<[Method, string, unknown?]>) {
          expectError(await t.call(method, url, body, { key }), 403, 'FORBIDDEN');
        }
        assert.deepEqual(await fingerprint(), before);
      });

      test('editor: entity types and entities OK; API keys and organizations 403', async () => {
        const key = editor.key;
        const put = await t.call('PUT', '/api/v1/entity-types/editor_type', SIMPLE_TYPE, { key });
        expectStatus(put, 201);
        expectStatus(await t.call('PUT', '/api/v1/entity-types/editor_type', { ...SIMPLE_TYPE, name: 'Simple 2' }, { key }), 200);
        const created = await createOrder(key, { label: 'x' }, 'editor_type');
        expectStatus(await t.call('PATCH', `/api/v1/entities/editor_type/${created.id}`, { attributes: { label: 'y' } }, { key }), 200);
        expectError(await t.call('DELETE', '/api/v1/entity-types/editor_type', undefined, { key }), 409, 'ENTITY_TYPE_IN_USE');
        expectStatus(await t.call('DELETE', `/api/v1/entities/editor_type/${created.id}`, undefined, { key }), 204);
        expectStatus(await t.call('DELETE', '/api/v1/entity-types/editor_type', undefined, { key }), 204);
        expectError(await t.call('GET', '/api/v1/entity-types/editor_type', undefined, { key }), 404, 'ENTITY_TYPE_NOT_FOUND');

        const before = await fingerprint();
        for (const [method, url, body] of [
          ['POST', '/api/v1/api-keys', { name: 'escalate', role: 'admin' }],
          ['GET', '/api/v1/api-keys'],
          ['DELETE', `/api/v1/api-keys/${viewer.id}`],
          ['DELETE', `/api/v1/api-keys/${editor.id}`],
          ['POST', '/api/v1/organizations', { name: 'Editor org' }],
        ] as Array<[Method, string, unknown?]>) {
          expectError(await t.call(method, url, body, { key }), 403, 'FORBIDDEN');
        }
        assert.deepEqual(await fingerprint(), before);
      });

      test('admin: everything', async () => {
        expectStatus(await t.call('PUT', '/api/v1/entity-types/admin_type', SIMPLE_TYPE), 201);
        const created = await createOrder(ADMIN_KEY, { label: 'a' }, 'admin_type');
        expectStatus(await t.call('PATCH', `/api/v1/entities/admin_type/${created.id}`, { attributes: { label: 'b' } }), 200);
        expectStatus(await t.call('GET', `/api/v1/entities/admin_type/${created.id}/events`), 200);
        expectStatus(await t.call('DELETE', `/api/v1/entities/admin_type/${created.id}`), 204);
        expectStatus(await t.call('DELETE', '/api/v1/entity-types/admin_type'), 204);
        const extra = await createKey('viewer', ADMIN_KEY, 'short-lived');
        expectStatus(await t.call('GET', '/api/v1/api-keys'), 200);
        expectStatus(await t.call('DELETE', `/api/v1/api-keys/${extra.id}`), 204);
      });

      test('a deleted key is refused at once; deleting it again → 404 API_KEY_NOT_FOUND', async () => {
        const doomed = await createKey('editor', ADMIN_KEY, 'doomed');
        // used once, so the authenticator has it cached
        expectStatus(await t.call('GET', '/api/v1/entity-types', undefined, { key: doomed.key }), 200);
        expectStatus(await t.call('DELETE', `/api/v1/api-keys/${doomed.id}`), 204);
        expectError(await t.call('GET', '/api/v1/entity-types', undefined, { key: doomed.key }), 401, 'UNAUTHENTICATED');
        expectError(await t.call('PUT', '/api/v1/entity-types/doomed_type', SIMPLE_TYPE, { key: doomed.key }), 401, 'UNAUTHENTICATED');
        expectError(await t.call('DELETE', `/api/v1/api-keys/${doomed.id}`), 404, 'API_KEY_NOT_FOUND');
        const list = (await t.call('GET', '/api/v1/api-keys')).json<{ items: KeyView[] }>();
        assert.ok(!list.items.some((k) => k.id === doomed.id));
      });

      test('a key deleted through another server on the same database is refused there within KEY_CACHE_MS', async () => {
        const other = await buildApp({ services: t.services, defaultOrgId: t.defaultOrgId, version: 'test', logLevel: 'silent' });
        try {
          const doomed = await createKey('editor', ADMIN_KEY, 'doomed elsewhere');
          const get = () => other.inject({ method: 'GET', url: '/api/v1/entity-types', headers: { authorization: `Bearer ${doomed.key}` } });
          expectStatus(await get(), 200); // cached by the other server now
          expectStatus(await t.call('DELETE', `/api/v1/api-keys/${doomed.id}`), 204);
          await new Promise((resolve) => setTimeout(resolve, KEY_CACHE_MS + 20));
          expectError(await get(), 401, 'UNAUTHENTICATED');
        } finally {
          await other.close();
        }
      });

      test('an admin key cannot delete itself → 409 API_KEY_SELF_DELETE, and keeps working', async () => {
        const list = (await t.call('GET', '/api/v1/api-keys')).json<{ items: KeyView[] }>();
        const own = list.items.find((k) => k.role === 'admin' && ADMIN_KEY.startsWith(k.keyPrefix));
        assert.ok(own);
        expectError(await t.call('DELETE', `/api/v1/api-keys/${own.id}`), 409, 'API_KEY_SELF_DELETE');
        expectStatus(await t.call('GET', '/api/v1/api-keys'), 200);

        const second = await createKey('admin', ADMIN_KEY, 'second admin');
        expectError(await t.call('DELETE', `/api/v1/api-keys/${second.id}`, undefined, { key: second.key }), 409, 'API_KEY_SELF_DELETE');
        // another admin may delete it
        expectStatus(await t.call('DELETE', `/api/v1/api-keys/${second.id}`), 204);
        expectError(await t.call('GET', '/api/v1/api-keys', undefined, { key: second.key }), 401, 'UNAUTHENTICATED');
      });

      test('deleting an unknown key id → 404 API_KEY_NOT_FOUND', async () => {
        const before = await fingerprint();
        for (const id of [newId(), 'nope', encodeURIComponent('../..'), 'x'.repeat(300)]) {
          expectError(await t.call('DELETE', `/api/v1/api-keys/${id}`), 404, 'API_KEY_NOT_FOUND');
        }
        assert.deepEqual(await fingerprint(), before);
      });
    });

    describe('organizations', () => {
      let keyA: string; // admin of the default organization (A)
      let keyB: string; // admin of organization B
      let orgB: { id: string; name: string; apiKey: KeyView & { key: string } };
      let aOrder: Entity;
      let bOrder: Entity;
      let bShared: Entity;

      before(async () => {
        keyA = ADMIN_KEY;
        const res = await t.call('POST', '/api/v1/organizations', { name: 'Org B' });
        expectStatus(res, 201);
        orgB = res.json<typeof orgB>();
        assert.equal(orgB.name, 'Org B');
        assert.notEqual(orgB.id, t.defaultOrgId);
        assert.equal(orgB.apiKey.role, 'admin');
        assert.match(orgB.apiKey.key, /^sf_/);
        keyB = orgB.apiKey.key;

        expectStatus(await t.call('PUT', '/api/v1/entity-types/order', ORDER_TYPE_B, { key: keyB }), 201, 'B defines its own order');
        expectStatus(await t.call('PUT', '/api/v1/entity-types/invoice', SIMPLE_TYPE, { key: keyB }), 201);
        expectStatus(await t.call('PUT', '/api/v1/entity-types/shared', SIMPLE_TYPE, { key: keyB }), 201);
        expectStatus(await t.call('PUT', '/api/v1/entity-types/shared', { ...SIMPLE_TYPE, name: 'A shared' }, { key: keyA }), 201);
        aOrder = await createOrder(keyA, { order_number: 'ORD-100', customer_email: 'a@a.example' });
        bOrder = await createOrder(keyB, { ref: 'B-1', amount: 5 });
        bShared = await createOrder(keyB, { label: 'b' }, 'shared');
      });

      test('creating organizations: 201 for the default org admin; 403 for others; 400 for a bad body', async () => {
        const before = await fingerprint();
        expectError(await t.call('POST', '/api/v1/organizations', { name: 'Org C' }, { key: keyB }), 403, 'FORBIDDEN');
        const editorB = await createKey('editor', keyB, 'B editor');
        const afterKey = await fingerprint();
        assert.equal(Number(afterKey.api_keys), Number(before.api_keys) + 1);
        expectError(await t.call('POST', '/api/v1/organizations', { name: 'Org D' }, { key: editorB.key }), 403, 'FORBIDDEN');
        for (const body of [{}, { name: '' }, { name: 'x', id: 'mine' }, []]) {
          expectError(await t.call('POST', '/api/v1/organizations', body), 400, 'VALIDATION_FAILED');
        }
        assert.deepEqual(await fingerprint(), afterKey);
      });

      test('the same type key holds a different definition in each organization', async () => {
        const a = (await t.call('GET', '/api/v1/entity-types/order', undefined, { key: keyA })).json<{ name: string; version: number }>();
        const b = (await t.call('GET', '/api/v1/entity-types/order', undefined, { key: keyB })).json<{ name: string; version: number; statuses: Array<{ key: string }> }>();
        assert.equal(a.name, 'Order');
        assert.equal(b.name, 'Order (org B)');
        assert.deepEqual(b.statuses.map((s) => s.key), ['open', 'closed']);
        assert.equal(bOrder.status, 'open');
        assert.equal(aOrder.status, 'new');
        const aTypes = (await t.call('GET', '/api/v1/entity-types', undefined, { key: keyA })).json<{ items: Array<{ key: string; name: string }> }>();
        assert.ok(!aTypes.items.some((x) => x.key === 'invoice'), "A's type list does not show B's types");
        assert.equal(aTypes.items.find((x) => x.key === 'order')?.name, 'Order');
        const bTypes = (await t.call('GET', '/api/v1/entity-types', undefined, { key: keyB })).json<{ items: Array<{ key: string }> }>();
        assert.deepEqual(bTypes.items.map((x) => x.key).sort(), ['invoice', 'order', 'shared']);
      });

      async function bState() {
        const entity = (await t.call('GET', `/api/v1/entities/order/${bOrder.id}`, undefined, { key: keyB })).json<Entity>();
        const events = (await t.call('GET', `/api/v1/entities/order/${bOrder.id}/events`, undefined, { key: keyB })).json<{ items: unknown[] }>();
        const type = (await t.call('GET', '/api/v1/entity-types/order', undefined, { key: keyB })).json<{ version: number; name: string }>();
        return { version: entity.version, status: entity.status, attributes: entity.attributes, events: events.items.length, typeVersion: type.version, typeName: type.name };
      }

      test("A cannot read, change or delete B's entities (404), and they stay unchanged", async () => {
        const before = await bState();
        assert.deepEqual(before.attributes, { ref: 'B-1', amount: 5 });
        const fp = await fingerprint();
        const url = `/api/v1/entities/order/${bOrder.id}`;
        expectError(await t.call('GET', url, undefined, { key: keyA }), 404, 'ENTITY_NOT_FOUND');
        expectError(await t.call('GET', `${url}/events`, undefined, { key: keyA }), 404, 'ENTITY_NOT_FOUND');
        expectError(await t.call('PATCH', url, { attributes: { order_number: 'ORD-666' } }, { key: keyA }), 404, 'ENTITY_NOT_FOUND');
        expectError(await t.call('PATCH', url, { attributes: { ref: 'hacked' } }, { key: keyA }), 404, 'ENTITY_NOT_FOUND');
        expectError(await t.call('PATCH', url, { status: 'received' }, { key: keyA, headers: { 'if-match': `"${bOrder.version}"` } }), 404, 'ENTITY_NOT_FOUND');
        expectError(await t.call('DELETE', url, undefined, { key: keyA }), 404, 'ENTITY_NOT_FOUND');
        // B's `shared` entity under A's own `shared` type
        expectError(await t.call('GET', `/api/v1/entities/shared/${bShared.id}`, undefined, { key: keyA }), 404, 'ENTITY_NOT_FOUND');
        expectError(await t.call('DELETE', `/api/v1/entities/shared/${bShared.id}`, undefined, { key: keyA }), 404, 'ENTITY_NOT_FOUND');
        // B's invoice type does not exist for A
        expectError(await t.call('POST', '/api/v1/entities/invoice', { attributes: { label: 'x' } }, { key: keyA }), 404, 'ENTITY_TYPE_NOT_FOUND');
        assert.deepEqual(await fingerprint(), fp, 'something was written');
        assert.deepEqual(await bState(), before);
        const shared = (await t.call('GET', `/api/v1/entities/shared/${bShared.id}`, undefined, { key: keyB })).json<Entity>();
        assert.equal(shared.version, 1);
      });

      test("B cannot read, change or delete A's entities either", async () => {
        const fp = await fingerprint();
        const url = `/api/v1/entities/order/${aOrder.id}`;
        expectError(await t.call('GET', url, undefined, { key: keyB }), 404, 'ENTITY_NOT_FOUND');
        expectError(await t.call('GET', `${url}/events`, undefined, { key: keyB }), 404, 'ENTITY_NOT_FOUND');
        expectError(await t.call('PATCH', url, { attributes: { ref: 'x' } }, { key: keyB }), 404, 'ENTITY_NOT_FOUND');
        expectError(await t.call('DELETE', url, undefined, { key: keyB }), 404, 'ENTITY_NOT_FOUND');
        assert.deepEqual(await fingerprint(), fp);
        const a = (await t.call('GET', url, undefined, { key: keyA })).json<Entity>();
        assert.equal(a.version, aOrder.version);
        assert.deepEqual(a.attributes, aOrder.attributes);
      });

      test("lists and where-filters show only the caller's own entities", async () => {
        type List = { items: Entity[] };
        const aList = (await t.call('GET', '/api/v1/entities/order?limit=500', undefined, { key: keyA })).json<List>();
        assert.ok(aList.items.length > 0);
        assert.ok(aList.items.every((e) => typeof e.attributes.order_number === 'string'), "A's list holds only A's orders");
        assert.ok(!aList.items.some((e) => e.id === bOrder.id));
        const bList = (await t.call('GET', '/api/v1/entities/order?limit=500', undefined, { key: keyB })).json<List>();
        assert.deepEqual(bList.items.map((e) => e.id), [bOrder.id]);
        const where = (q: string, key: string) => t.call('GET', `/api/v1/entities/order?limit=500&where=${encodeURIComponent(q)}`, undefined, { key });
        const aSeesB = await where('ref = "B-1"', keyA);
        expectStatus(aSeesB, 200);
        assert.deepEqual(aSeesB.json<List>().items, []);
        const aAll = await where('true', keyA);
        assert.deepEqual(aAll.json<List>().items.map((e) => e.id).sort(), aList.items.map((e) => e.id).sort());
        const bSeesA = await where('$contains(order_number, "ORD")', keyB);
        assert.deepEqual(bSeesA.json<List>().items, []);
        // statuses are those of the caller's own definition
        expectError(await t.call('GET', '/api/v1/entities/order?status=open', undefined, { key: keyA }), 400, 'STATUS_UNKNOWN');
        expectStatus(await t.call('GET', '/api/v1/entities/order?status=open', undefined, { key: keyB }), 200);
        const sharedA = (await t.call('GET', '/api/v1/entities/shared', undefined, { key: keyA })).json<List>();
        assert.deepEqual(sharedA.items, []);
      });

      test("A cannot change or delete B's types; deleting or replacing A's own type leaves B's alone", async () => {
        const before = await bState();
        expectError(await t.call('GET', '/api/v1/entity-types/invoice', undefined, { key: keyA }), 404, 'ENTITY_TYPE_NOT_FOUND');
        expectError(await t.call('DELETE', '/api/v1/entity-types/invoice', undefined, { key: keyA }), 404, 'ENTITY_TYPE_NOT_FOUND');
        expectStatus(await t.call('GET', '/api/v1/entity-types/invoice', undefined, { key: keyB }), 200);
        // A replaces its own order type: B's keeps its version and definition
        const replaced = await t.call('PUT', '/api/v1/entity-types/order', { ...ORDER_TYPE, name: 'Order v2' }, { key: keyA });
        expectStatus(replaced, 200);
        // A deletes its own (empty) `shared` type while B's `shared` has an entity
        expectStatus(await t.call('DELETE', '/api/v1/entity-types/shared', undefined, { key: keyA }), 204);
        expectError(await t.call('GET', '/api/v1/entity-types/shared', undefined, { key: keyA }), 404, 'ENTITY_TYPE_NOT_FOUND');
        const bShare = await t.call('GET', '/api/v1/entity-types/shared', undefined, { key: keyB });
        expectStatus(bShare, 200);
        assert.equal(bShare.json<{ name: string }>().name, 'Simple');
        expectStatus(await t.call('GET', `/api/v1/entities/shared/${bShared.id}`, undefined, { key: keyB }), 200);
        // B's `shared` still refuses deletion because of B's entity, and A's delete did not change that
        expectError(await t.call('DELETE', '/api/v1/entity-types/shared', undefined, { key: keyB }), 409, 'ENTITY_TYPE_IN_USE');
        assert.deepEqual(await bState(), before);
        // A deleting its `order` type is refused for A's own entities, not B's
        expectError(await t.call('DELETE', '/api/v1/entity-types/order', undefined, { key: keyA }), 409, 'ENTITY_TYPE_IN_USE');
        expectError(await t.call('DELETE', '/api/v1/entity-types/invoice', undefined, { key: keyA }), 404, 'ENTITY_TYPE_NOT_FOUND');
        expectStatus(await t.call('DELETE', '/api/v1/entity-types/invoice', undefined, { key: keyB }), 204);
      });

      test("API keys: each org lists only its own; neither can delete the other's (404)", async () => {
        const aKeys = (await t.call('GET', '/api/v1/api-keys', undefined, { key: keyA })).json<{ items: KeyView[] }>().items;
        const bKeys = (await t.call('GET', '/api/v1/api-keys', undefined, { key: keyB })).json<{ items: KeyView[] }>().items;
        const aIds = new Set(aKeys.map((k) => k.id));
        assert.ok(bKeys.length >= 1);
        assert.ok(bKeys.some((k) => k.id === orgB.apiKey.id));
        for (const k of bKeys) assert.ok(!aIds.has(k.id), "A's list shows one of B's keys");
        assert.ok(!bKeys.some((k) => ADMIN_KEY.startsWith(k.keyPrefix) && k.name.includes('STATUSFLOW_ADMIN_KEY')), "B's list shows A's admin key");
        const fp = await fingerprint();
        for (const k of bKeys) expectError(await t.call('DELETE', `/api/v1/api-keys/${k.id}`, undefined, { key: keyA }), 404, 'API_KEY_NOT_FOUND');
        for (const k of aKeys) expectError(await t.call('DELETE', `/api/v1/api-keys/${k.id}`, undefined, { key: keyB }), 404, 'API_KEY_NOT_FOUND');
        assert.deepEqual(await fingerprint(), fp);
        expectStatus(await t.call('GET', '/api/v1/api-keys', undefined, { key: keyB }), 200);
        expectStatus(await t.call('GET', '/api/v1/api-keys', undefined, { key: keyA }), 200);
        // keys created by B belong to B
        const bViewer = await createKey('viewer', keyB, 'B viewer');
        expectError(await t.call('GET', `/api/v1/entities/order/${aOrder.id}`, undefined, { key: bViewer.key }), 404, 'ENTITY_NOT_FOUND');
        expectStatus(await t.call('GET', `/api/v1/entities/order/${bOrder.id}`, undefined, { key: bViewer.key }), 200);
        assert.ok(!(await t.call('GET', '/api/v1/api-keys', undefined, { key: keyA })).json<{ items: KeyView[] }>().items.some((k) => k.id === bViewer.id));
      });
    });
  });
}
