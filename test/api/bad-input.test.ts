/**
 * Bad input, tried the way a new user would: every refusal is a 4xx (never a 500) with a stable
 * `error.code` and a readable message, and nothing is written (row counts of every table and the
 * versions of entities and entity types are compared before and after each refused request).
 * Hostile expressions must leave the server answering normal requests promptly.
 * Runs on SQLite and, with TEST_DATABASE_URL, Postgres.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { newId } from '../../src/domain/ids.js';
import { ADMIN_KEY, startTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { ORDER_TYPE } from '../support/order.js';
import { eventually } from '../support/wait.js';

/** A type with one attribute of every attribute type. */
const SAMPLE_TYPE = {
  name: 'Sample',
  attributes: [
    { key: 'name', type: 'string', required: true },
    { key: 'count', type: 'integer' },
    { key: 'amount', type: 'number' },
    { key: 'flag', type: 'boolean' },
    { key: 'day', type: 'date' },
    { key: 'at', type: 'datetime' },
    { key: 'color', type: 'enum', values: ['red', 'green'] },
    { key: 'data', type: 'json' },
  ],
  statuses: [
    { key: 'draft', name: 'Draft', initial: true },
    { key: 'done', name: 'Done' },
  ],
  requirements: [],
  transitions: [{ from: ['draft'], to: 'done' }],
};

/** Where follow-up writes go (not part of the "nothing written" snapshots). Its requirement exercises the evaluator. */
const SCRATCH_TYPE = {
  name: 'Scratch',
  attributes: [{ key: 'note', type: 'string' }],
  statuses: [{ key: 'open', initial: true }],
  requirements: [{ key: 'has_note', condition: '$exists(note)', message: 'Note is missing' }],
};

interface ErrorBody {
  error: { code: string; message: string; details?: { fields?: Array<Record<string, unknown> & { path: string; code: string }> } & Record<string, unknown> };
}

/** Asserts the error shape: status, stable code, readable message, and optionally a field issue. */
function expectError(res: LightMyRequestResponse, status: number, code: string, field?: { path: string; code?: string }): ErrorBody['error'] {
  const where = `${res.statusCode} ${res.body.slice(0, 500)}`;
  assert.equal(res.statusCode, status, where);
  assert.match(String(res.headers['content-type']), /^application\/json/, where);
  const body = res.json<ErrorBody>();
  assert.equal(typeof body.error, 'object', where);
  assert.equal(body.error.code, code, where);
  assert.equal(typeof body.error.message, 'string', where);
  assert.ok(body.error.message.length >= 10, `message too short: ${where}`);
  assert.doesNotMatch(body.error.message, /\[object Object\]|^undefined$/, where);
  if (field) {
    const fields = body.error.details?.fields ?? [];
    const hit = fields.find((f) => f.path === field.path && (field.code === undefined || f.code === field.code));
    assert.ok(hit, `expected details.fields to hold ${JSON.stringify(field)}: ${where}`);
    assert.equal(typeof hit.message, 'string');
    assert.ok(String(hit.message).length > 0);
  }
  return body.error;
}

const enc = encodeURIComponent;

for (const dialect of DIALECTS) {
  describe(`bad input on ${dialect}`, () => {
    let t: TestApp;
    let sampleId: string;
    let orderId: string;

    async function get<T>(url: string): Promise<T> {
      const res = await t.call('GET', url);
      assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 300)}`);
      return res.json<T>();
    }

    /**
     * Everything a refused request must leave untouched, read in one query: row counts of every table
     * (all organizations), and the version sums and last update times of entities and entity types.
     * Counts and versions only grow, so any write — create, update, delete (an event), type change — shows.
     */
    async function snapshot(): Promise<Record<string, string>> {
      const row = await t.services.database.db
        .selectNoFrom((eb) => [
          eb.selectFrom('organizations').select(eb.fn.countAll().as('n')).as('organizations'),
          eb.selectFrom('api_keys').select(eb.fn.countAll().as('n')).as('api_keys'),
          eb.selectFrom('entity_types').select(eb.fn.countAll().as('n')).as('entity_types'),
          eb.selectFrom('entity_types').select((e) => e.fn.sum('version').as('n')).as('entity_type_version_sum'),
          eb.selectFrom('entity_types').select((e) => e.fn.max('updated_at').as('n')).as('entity_types_updated'),
          eb.selectFrom('entity_type_versions').select(eb.fn.countAll().as('n')).as('entity_type_versions'),
          eb.selectFrom('entities').select(eb.fn.countAll().as('n')).as('entities'),
          eb.selectFrom('entities').select((e) => e.fn.sum('version').as('n')).as('entity_version_sum'),
          eb.selectFrom('entities').select((e) => e.fn.max('updated_at').as('n')).as('entities_updated'),
          eb.selectFrom('entity_events').select(eb.fn.countAll().as('n')).as('entity_events'),
        ])
        .executeTakeFirstOrThrow();
      return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : String(v)]));
    }

    /** Runs `request`, checks the refusal, and checks that nothing was written. */
    async function refused(
      request: () => Promise<LightMyRequestResponse>,
      status: number,
      code: string,
      field?: { path: string; code?: string },
    ): Promise<ErrorBody['error']> {
      const before = await snapshot();
      const error = expectError(await request(), status, code, field);
      assert.deepEqual(await snapshot(), before, `something was written by a refused request (${code})`);
      return error;
    }

    /**
     * The server still answers normal requests promptly, including ones that evaluate expressions.
     * The bounds are generous (test machines are busy, and a stopped worker is restarted); a hang blows them.
     */
    async function stillHealthy(): Promise<void> {
      let started = Date.now();
      const health = await t.call('GET', '/api/v1/health', undefined, { key: null });
      assert.equal(health.statusCode, 200);
      assert.equal(health.json<{ status: string }>().status, 'ok');
      assert.ok(Date.now() - started < 2000, `health took ${Date.now() - started} ms`);
      started = Date.now();
      const created = await t.call('POST', '/api/v1/entities/scratch', { attributes: { note: 'still fine' } });
      assert.equal(created.statusCode, 201, created.body);
      const body = created.json<{ requirements: Array<{ key: string; passed: boolean }> }>();
      assert.deepEqual(body.requirements.map((r) => [r.key, r.passed]), [['has_note', true]]);
      assert.ok(Date.now() - started < 10_000, `create took ${Date.now() - started} ms`);
    }

    before(async () => {
      t = await startTestApp(dialect);
      // Start the expression worker before the first save with an enforced requirement (cold starts are slow on a busy machine).
      await t.services.evaluator.evaluateMany(['true'], {});
      for (const [key, def] of [['sample', SAMPLE_TYPE], ['order', ORDER_TYPE], ['scratch', SCRATCH_TYPE]] as const) {
        const res = await t.call('PUT', `/api/v1/entity-types/${key}`, def);
        assert.equal(res.statusCode, 201, res.body);
      }
      const sample = await t.call('POST', '/api/v1/entities/sample', { attributes: { name: 'first', count: 1 } });
      assert.equal(sample.statusCode, 201, sample.body);
      sampleId = sample.json<{ id: string }>().id;
      const order = await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-1', total: 10, customer_email: 'a@b.co' } });
      assert.equal(order.statusCode, 201, order.body);
      orderId = order.json<{ id: string }>().id;
    });
    after(() => t.close());

    describe('request bodies', () => {
      test('malformed JSON → 400 INVALID_JSON', async () => {
        await refused(() => t.call('POST', '/api/v1/entities/sample', '{"attributes": {'), 400, 'INVALID_JSON');
        await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, '{"attributes": {'), 400, 'INVALID_JSON');
        await refused(() => t.call('PUT', '/api/v1/entity-types/sample', '{"name": "Sample",'), 400, 'INVALID_JSON');
        await refused(() => t.call('POST', '/api/v1/entities/sample', "{'attributes': {}}"), 400, 'INVALID_JSON');
        await refused(() => t.call('POST', '/api/v1/entities/sample', '{"attributes": {"name": "x"}} trailing'), 400, 'INVALID_JSON');
      });

      test('a JSON array, string or number as body → 400 VALIDATION_FAILED', async () => {
        for (const body of ['[]', '[{"attributes": {"name": "x"}}]', '"hello"', '42', 'true']) {
          await refused(() => t.call('POST', '/api/v1/entities/sample', body), 400, 'VALIDATION_FAILED', { path: '(body)' });
          await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, body), 400, 'VALIDATION_FAILED', { path: '(body)' });
        }
        await refused(() => t.call('PUT', '/api/v1/entity-types/sample', '[]'), 400, 'ENTITY_TYPE_INVALID');
        await refused(() => t.call('PUT', '/api/v1/entity-types/sample', '"Sample"'), 400, 'ENTITY_TYPE_INVALID');
      });

      test('JSON null as a POST body → 400 VALIDATION_FAILED (null is not an object)', async () => {
        await refused(() => t.call('POST', '/api/v1/entities/sample', 'null'), 400, 'VALIDATION_FAILED', { path: '(body)' });
        await refused(() => t.call('PUT', '/api/v1/entity-types/sample', 'null'), 400, 'ENTITY_TYPE_INVALID');
      });

      test('JSON null as a PATCH body → 400 VALIDATION_FAILED, and no new version or event is written', async () => {
        await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, 'null'), 400, 'VALIDATION_FAILED', { path: '(body)' });
      });

      test('a body that is not valid UTF-8 → 400 INVALID_JSON (not silently stored with U+FFFD)', async () => {
        const payload = Buffer.concat([Buffer.from('{"attributes": {"name": "bad '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}')]);
        const send = (method: 'POST' | 'PATCH', url: string) =>
          t.app.inject({ method, url, payload, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' } });
        await refused(() => send('POST', '/api/v1/entities/sample'), 400, 'INVALID_JSON');
        await refused(() => send('PATCH', `/api/v1/entities/sample/${sampleId}`), 400, 'INVALID_JSON');
      });

      test('wrong Content-Type → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
        const body = JSON.stringify({ attributes: { name: 'plain' } });
        for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
          await refused(() => t.call('POST', '/api/v1/entities/sample', body, { headers: { 'content-type': type } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
          await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, body, { headers: { 'content-type': type } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
        }
        await refused(() => t.call('PUT', '/api/v1/entity-types/sample', JSON.stringify(SAMPLE_TYPE), { headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      });

      test('empty body with application/json on POST → 400 validation error, not 500', async () => {
        for (const body of ['', '   ', '\n']) {
          await refused(() => t.call('POST', '/api/v1/entities/sample', body), 400, 'ATTRIBUTES_INVALID', { path: 'attributes.name', code: 'required' });
        }
        await refused(() => t.call('PUT', '/api/v1/entity-types/sample', ''), 400, 'ENTITY_TYPE_INVALID');
        await refused(() => t.call('POST', '/api/v1/api-keys', ''), 400, 'VALIDATION_FAILED');
      });

      test('__proto__ and constructor.prototype keys are refused and pollute nothing', async () => {
        const bodies = [
          '{"__proto__": {"polluted": true}, "attributes": {"name": "p"}}',
          '{"attributes": {"__proto__": {"polluted": true}, "name": "p"}}',
          '{"attributes": {"name": "p", "data": {"__proto__": {"polluted": true}}}}',
          '{"constructor": {"prototype": {"polluted": true}}, "attributes": {"name": "p"}}',
          '{"attributes": {"name": "p", "data": {"constructor": {"prototype": {"polluted": true}}}}}',
        ];
        for (const body of bodies) {
          await refused(() => t.call('POST', '/api/v1/entities/sample', body), 400, 'INVALID_JSON');
          await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, body), 400, 'INVALID_JSON');
        }
        const typeBody = JSON.stringify(SAMPLE_TYPE).replace('{"name":"Sample",', '{"name":"Sample","__proto__":{"polluted":true},');
        await refused(() => t.call('PUT', '/api/v1/entity-types/sample', typeBody), 400, 'INVALID_JSON');
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
      });

      test('unknown top-level fields → 400 VALIDATION_FAILED naming the field', async () => {
        for (const body of [{ attrs: {} }, { attributes: { name: 'x' }, extra: 1 }, { attributes: { name: 'x' }, id: newId() }, { attributes: { name: 'x' }, version: 7 }]) {
          const err = await refused(() => t.call('POST', '/api/v1/entities/sample', body), 400, 'VALIDATION_FAILED');
          const unknownKey = Object.keys(body).find((k) => k !== 'attributes')!;
          assert.match(JSON.stringify(err), new RegExp(unknownKey), 'the message or details name the unknown field');
          await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, body), 400, 'VALIDATION_FAILED');
        }
      });

      test('attributes / status of the wrong JSON type → 400 VALIDATION_FAILED', async () => {
        for (const body of [{ attributes: [] }, { attributes: 'name=x' }, { attributes: null }, { attributes: { name: 'x' }, status: 5 }, { attributes: { name: 'x' }, status: 'x'.repeat(100) }]) {
          await refused(() => t.call('POST', '/api/v1/entities/sample', body), 400, 'VALIDATION_FAILED');
        }
        // 63 characters is a well-formed status (just not one of the type's); 64 is not.
        await refused(() => t.call('POST', '/api/v1/entities/sample', { attributes: { name: 'x' }, status: 'x'.repeat(63) }), 400, 'STATUS_UNKNOWN');
        await refused(() => t.call('POST', '/api/v1/entities/sample', { attributes: { name: 'x' }, status: 'x'.repeat(64) }), 400, 'VALIDATION_FAILED');
      });
    });

    describe('attribute values', () => {
      const cases: Array<[string, Record<string, unknown>, string, string]> = [
        ['string for integer', { count: '3' }, 'attributes.count', 'type'],
        ['1.5 for integer', { count: 1.5 }, 'attributes.count', 'type'],
        ['integer beyond 2^53', { count: 2 ** 60 }, 'attributes.count', 'type'],
        ['string for number', { amount: '12.5' }, 'attributes.amount', 'type'],
        ['object for number', { amount: { value: 1 } }, 'attributes.amount', 'type'],
        ['"yes" for boolean', { flag: 'yes' }, 'attributes.flag', 'type'],
        ['1 for boolean', { flag: 1 }, 'attributes.flag', 'type'],
        ['2025-02-30 for date', { day: '2025-02-30' }, 'attributes.day', 'format'],
        ['2025-2-3 for date', { day: '2025-2-3' }, 'attributes.day', 'format'],
        ['datetime for date', { day: '2025-02-03T00:00:00Z' }, 'attributes.day', 'format'],
        ['datetime without zone', { at: '2025-01-31T09:30:00' }, 'attributes.at', 'format'],
        ['datetime with hour 25', { at: '2025-01-31T25:30:00Z' }, 'attributes.at', 'format'],
        ['number for datetime', { at: 1738315800000 }, 'attributes.at', 'type'],
        ['enum value not in list', { color: 'blue' }, 'attributes.color', 'enum'],
        ['enum value in other case', { color: 'RED' }, 'attributes.color', 'enum'],
        ['number for string', { name: 42 }, 'attributes.name', 'type'],
        ['unknown attribute', { nmae: 'typo' }, 'attributes.nmae', 'unknown'],
        ['too-long string (> 64 KiB)', { name: 'a'.repeat(64 * 1024 + 1) }, 'attributes.name', 'too_large'],
        ['too-long string in UTF-8 bytes', { name: 'é'.repeat(40_000) }, 'attributes.name', 'too_large'],
        ['U+0000 in a string', { name: 'a\u0000b' }, 'attributes.name', 'invalid_string'],
        ['lone high surrogate', { name: 'x\ud800' }, 'attributes.name', 'invalid_string'],
        ['lone low surrogate', { name: '\udc00y' }, 'attributes.name', 'invalid_string'],
        ['U+0000 inside json', { data: { list: ['ok', 'bad\u0000'] } }, 'attributes.data', 'invalid_string'],
        ['lone surrogate in a json key', { data: { 'k\ud800': 1 } }, 'attributes.data', 'invalid_string'],
        ['json nested too deep', { data: JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown }, 'attributes.data', 'too_large'],
      ];
      for (const [label, attrs, path, code] of cases) {
        test(`${label} → 400 ATTRIBUTES_INVALID (${code})`, async () => {
          await refused(() => t.call('POST', '/api/v1/entities/sample', { attributes: { name: 'ok', ...attrs } }), 400, 'ATTRIBUTES_INVALID', { path, code });
          await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, { attributes: attrs }), 400, 'ATTRIBUTES_INVALID', { path, code });
        });
      }

      test('lone surrogates written as JSON escapes → 400 invalid_string', async () => {
        for (const raw of ['"\\ud800"', '"\\udfff"', '"a\\ud83d"', '"\\u0000"']) {
          await refused(() => t.call('POST', '/api/v1/entities/sample', `{"attributes": {"name": ${raw}}}`), 400, 'ATTRIBUTES_INVALID', { path: 'attributes.name', code: 'invalid_string' });
        }
      });

      test('every problem is listed at once', async () => {
        const err = await refused(() => t.call('POST', '/api/v1/entities/sample', { attributes: { count: 'x', color: 'blue', bogus: 1 } }), 400, 'ATTRIBUTES_INVALID');
        const got = (err.details?.fields ?? []).map((f) => `${f.path}:${f.code}`).sort();
        assert.deepEqual(got, ['attributes.bogus:unknown', 'attributes.color:enum', 'attributes.count:type', 'attributes.name:required']);
      });

      test('null for a required attribute → 400 required (create and update)', async () => {
        await refused(() => t.call('POST', '/api/v1/entities/sample', { attributes: { name: null } }), 400, 'ATTRIBUTES_INVALID', { path: 'attributes.name', code: 'required' });
        await refused(() => t.call('POST', '/api/v1/entities/sample', { attributes: {} }), 400, 'ATTRIBUTES_INVALID', { path: 'attributes.name', code: 'required' });
        await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, { attributes: { name: null } }), 400, 'ATTRIBUTES_INVALID', { path: 'attributes.name', code: 'required' });
      });

      test('a 2 MB body → 413 PAYLOAD_TOO_LARGE', async () => {
        const big = JSON.stringify({ attributes: { name: 'big', data: 'x'.repeat(2 * 1024 * 1024) } });
        await refused(() => t.call('POST', '/api/v1/entities/sample', big), 413, 'PAYLOAD_TOO_LARGE');
        await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, big), 413, 'PAYLOAD_TOO_LARGE');
        const bigType = JSON.stringify({ ...SAMPLE_TYPE, description: 'y'.repeat(2 * 1024 * 1024) });
        await refused(() => t.call('PUT', '/api/v1/entity-types/sample', bigType), 413, 'PAYLOAD_TOO_LARGE');
      });

      test('emoji, RTL text, combining characters and 𝄞 are accepted and round-trip exactly', async () => {
        const strings = [
          '👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽',
          'مرحبا بالعالم — שלום עולם',
          'e\u0301 a\u0308 Z\u0351\u0352\u0353 (not normalised)',
          '𝄞',
          '\u202Eevil\u202C zero\u200Bwidth',
          'a'.repeat(64 * 1024),
        ];
                assert.equal((await t.call('PUT', '/api/v1/entity-types/text_sample', SAMPLE_TYPE)).statusCode, 201);
        for (const name of strings) {
          const data = { [Array.from(name).slice(0, 10).join('')]: [name, { nested: name }] };
          const created = await t.call('POST', '/api/v1/entities/text_sample', { attributes: { name, data } });
          assert.equal(created.statusCode, 201, created.body.slice(0, 300));
          const { id, attributes } = created.json<{ id: string; attributes: Record<string, unknown> }>();
          assert.equal(attributes.name, name);
          const got = await get<{ attributes: Record<string, unknown> }>(`/api/v1/entities/text_sample/${id}`);
          assert.equal(got.attributes.name, name, 'GET returns the exact string');
          assert.deepEqual(got.attributes.data, data, 'GET returns the exact json value');
          const listed = await get<{ items: Array<{ id: string; attributes: Record<string, unknown> }> }>(`/api/v1/entities/text_sample?limit=500`);
          assert.equal(listed.items.find((e) => e.id === id)?.attributes.name, name, 'the list returns the exact string');
        }
        const found = await get<{ items: Array<{ attributes: Record<string, unknown> }> }>(`/api/v1/entities/text_sample?where=${enc('name = "𝄞"')}`);
        assert.deepEqual(found.items.map((e) => e.attributes.name), ['𝄞']);
      });
    });

    describe('paths and query strings', () => {
      test('junk entity ids in paths → 404 ENTITY_NOT_FOUND on every entity route', async () => {
        const ids = ['..%2F..', '..%2F..%2Fentity-types', '..%5C..', 'x'.repeat(300), enc('😀ü'), enc('ид'), enc("1' OR '1'='1"), enc(' '), newId(), orderId];
        for (const id of ids) {
          await refused(() => t.call('GET', `/api/v1/entities/sample/${id}`), 404, 'ENTITY_NOT_FOUND');
          await refused(() => t.call('GET', `/api/v1/entities/sample/${id}/events`), 404, 'ENTITY_NOT_FOUND');
          await refused(() => t.call('PATCH', `/api/v1/entities/sample/${id}`, { attributes: { name: 'x' } }), 404, 'ENTITY_NOT_FOUND');
          await refused(() => t.call('DELETE', `/api/v1/entities/sample/${id}`), 404, 'ENTITY_NOT_FOUND');
        }
      });

      test('very long entity ids (past the router limit) → 404 ENTITY_NOT_FOUND', async () => {
        for (const length of [600, 5000]) {
          const id = 'a'.repeat(length);
          await refused(() => t.call('GET', `/api/v1/entities/sample/${id}`), 404, 'ENTITY_NOT_FOUND');
          await refused(() => t.call('PATCH', `/api/v1/entities/sample/${id}`, { attributes: { name: 'x' } }), 404, 'ENTITY_NOT_FOUND');
          await refused(() => t.call('DELETE', `/api/v1/entities/sample/${id}`), 404, 'ENTITY_NOT_FOUND');
        }
      });

      test('a malformed percent-encoding in the path → 400 BAD_REQUEST in the API error shape', async () => {
        await refused(() => t.call('GET', '/api/v1/entities/sample/%E0%A4%A'), 400, 'BAD_REQUEST');
        await refused(() => t.call('GET', '/api/v1/entities/%ZZ'), 400, 'BAD_REQUEST');
      });

      test('invalid or unknown type keys in paths → 404 ENTITY_TYPE_NOT_FOUND', async () => {
        for (const type of ['Order!', 'ORDER', 'order-x', enc('ordér'), 'o'.repeat(64), 'nosuchtype']) {
          await refused(() => t.call('GET', `/api/v1/entities/${type}`), 404, 'ENTITY_TYPE_NOT_FOUND');
          await refused(() => t.call('POST', `/api/v1/entities/${type}`, { attributes: { name: 'x' } }), 404, 'ENTITY_TYPE_NOT_FOUND');
          await refused(() => t.call('PATCH', `/api/v1/entities/${type}/${sampleId}`, { attributes: { name: 'x' } }), 404, 'ENTITY_TYPE_NOT_FOUND');
          await refused(() => t.call('DELETE', `/api/v1/entities/${type}/${sampleId}`), 404, 'ENTITY_TYPE_NOT_FOUND');
          await refused(() => t.call('GET', `/api/v1/entity-types/${type}`), 404, 'ENTITY_TYPE_NOT_FOUND');
          await refused(() => t.call('DELETE', `/api/v1/entity-types/${type}`), 404, 'ENTITY_TYPE_NOT_FOUND');
        }
        await refused(() => t.call('PUT', '/api/v1/entity-types/Order!', SAMPLE_TYPE), 400, 'INVALID_KEY', { path: 'key' });
      });

      test('reading one entity (or its events) of an unknown type → 404 ENTITY_TYPE_NOT_FOUND, as the other routes say', async () => {
        for (const type of ['Order!', 'nosuchtype']) {
          await refused(() => t.call('GET', `/api/v1/entities/${type}/${sampleId}`), 404, 'ENTITY_TYPE_NOT_FOUND');
          await refused(() => t.call('GET', `/api/v1/entities/${type}/${sampleId}/events`), 404, 'ENTITY_TYPE_NOT_FOUND');
        }
      });

      test('bad limit → 400 INVALID_QUERY', async () => {
        for (const limit of ['0', '501', '-1', 'abc', '1.5', '10&limit=20']) {
          for (const url of ['/api/v1/entities/sample', `/api/v1/entities/sample/${sampleId}/events`, '/api/v1/entity-types']) {
            await refused(() => t.call('GET', `${url}?limit=${limit}`), 400, 'INVALID_QUERY', { path: 'limit' });
          }
        }
        assert.equal((await t.call('GET', '/api/v1/entities/sample?limit=500')).statusCode, 200);
        assert.equal((await t.call('GET', '/api/v1/entities/sample?limit=1')).statusCode, 200);
      });

      test('bad cursor → 400 INVALID_CURSOR', async () => {
        for (const cursor of ['abc', 'djE', enc('v1:'), '%00', 'x'.repeat(401), enc(Buffer.from('v2:abc').toString('base64url'))]) {
          for (const url of ['/api/v1/entities/sample', `/api/v1/entities/sample/${sampleId}/events`, '/api/v1/entity-types']) {
            await refused(() => t.call('GET', `${url}?cursor=${cursor}`), 400, 'INVALID_CURSOR');
          }
        }
      });

      test('a forged cursor that decodes is harmless: 200, no rows leak, nothing written', async () => {
        const forged = Buffer.from("v1:' OR 1=1 --").toString('base64url');
        const before = await snapshot();
        const res = await t.call('GET', `/api/v1/entities/sample?cursor=${forged}`);
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), { items: [], nextCursor: null });
        assert.deepEqual(await snapshot(), before);
      });

      test('unknown status in ?status= → 400 STATUS_UNKNOWN', async () => {
        for (const status of ['nope', 'draft,nope', 'DRAFT', 'received']) {
          await refused(() => t.call('GET', `/api/v1/entities/sample?status=${enc(status)}`), 400, 'STATUS_UNKNOWN');
        }
        assert.equal((await t.call('GET', '/api/v1/entities/sample?status=draft,done')).statusCode, 200);
      });

      test('bad where syntax → 400 EXPRESSION_INVALID with line, column and caret', async () => {
        const err = await refused(() => t.call('GET', `/api/v1/entities/order?where=${enc('total >')}`), 400, 'EXPRESSION_INVALID', { path: 'where', code: 'EXPR_SYNTAX' });
        const f = err.details!.fields![0]!;
        assert.equal(f.path, 'where');
        assert.equal(f.line, 1);
        assert.equal(f.column, 8);
        assert.equal(f.caret, 'total >\n       ^');
        const multi = await refused(() => t.call('GET', `/api/v1/entities/order?where=${enc('total > 1 and\n  (paid = true')}`), 400, 'EXPRESSION_INVALID', { path: 'where' });
        const g = multi.details!.fields![0]!;
        assert.equal(g.line, 2);
        assert.equal(typeof g.column, 'number');
        assert.match(String(g.caret), /^ {2}\(paid = true\n *\^$/);
        await refused(() => t.call('GET', `/api/v1/entities/order?where=${enc('x'.repeat(5000))}`), 400, 'EXPRESSION_INVALID', { path: 'where', code: 'EXPR_TOO_LONG' });
      });

      test('hostile where expressions: refused at check, or at runtime (limits → 422, errors → no match); the server stays healthy', async () => {
        const refusedAtCheck: Array<[string, string]> = [
          ['$contains(order_number, /(a+)+$/)', 'EXPR_UNSAFE_REGEX'],
          ['$match(order_number, /(.*)*x/)', 'EXPR_UNSAFE_REGEX'],
          ['function($x){$x}(1)', 'EXPR_FORBIDDEN'],
          ['λ($x){$x}(1) = 1', 'EXPR_FORBIDDEN'],
          ['$eval("1")', 'EXPR_FORBIDDEN'],
          ['($e := $eval; $e("1") = 1)', 'EXPR_FORBIDDEN'],
          ['($string := function(){1}; $string() = 1)', 'EXPR_FORBIDDEN'],
        ];
        for (const [where, code] of refusedAtCheck) {
          const started = Date.now();
          await refused(() => t.call('GET', `/api/v1/entities/order?where=${enc(where)}`), 400, 'EXPRESSION_INVALID', { path: 'where', code });
          assert.ok(Date.now() - started < 5000, `${where} took ${Date.now() - started} ms`);
        }
        await stillHealthy();
        // Past a time or memory limit the rows were never evaluated: refused, not "no match" (a page
        // must not silently leave rows out); an expression error on a row is that row not matching.
        const failAtRuntime = [
          '$pad("", 1e8) = "x"',
          '[1..1e9] ~> $count() > 0',
          '$count([1..10000000]) > 0',
          '$string([1..9999999]) = "x"',
          '$join($map([1..99999], $string), "' + 'x'.repeat(40) + '") = "x"',
          '$error("boom")',
        ];
        for (const where of failAtRuntime) {
          const started = Date.now();
          const before = await snapshot();
          const res = await t.call('GET', `/api/v1/entities/order?where=${enc(where)}`);
          if (where.startsWith('$error')) {
            assert.equal(res.statusCode, 200, `${where}: ${res.body.slice(0, 300)}`);
            assert.deepEqual(res.json(), { items: [], nextCursor: null }, where);
          } else {
            const error = expectError(res, 422, 'WHERE_TOO_EXPENSIVE');
            assert.ok(['EXPR_TIMEOUT', 'EXPR_RESOURCE_LIMIT'].includes((error.details as { cause: { code: string } }).cause.code), where);
          }
          assert.deepEqual(await snapshot(), before);
          assert.ok(Date.now() - started < 10_000, `${where} took ${Date.now() - started} ms`);
          await stillHealthy();
        }
      });

      // A regex that passes the static check but backtracks badly: its evaluation is stopped at the time limit.
      test('while a hostile where is evaluated, other requests are answered (evaluation is off the main thread)', async () => {
        // Counts the where's hand-overs to the expression workers: the hostile request is under way once there is one.
        const { evaluator } = t.services;
        const forEach = evaluator.evaluateForEach;
        let handedOver = 0;
        evaluator.evaluateForEach = (...args) => (handedOver++, forEach.apply(evaluator, args));
        let hostileDone = 0;
        const hostile = t
          .call('GET', `/api/v1/entities/order?where=${enc('$contains($pad("", 32, "a") & "!", /(a|a)*b/)')}`)
          .then((res) => {
            hostileDone = Date.now();
            return res;
          })
          .finally(() => (evaluator.evaluateForEach = forEach));
        await eventually(() => handedOver > 0, 10_000, 'the hostile where to reach the expression workers');
        const health = await t.call('GET', '/api/v1/health', undefined, { key: null });
        assert.equal(health.statusCode, 200);
        const read = await t.call('GET', `/api/v1/entities/sample/${sampleId}`);
        assert.equal(read.statusCode, 200);
        assert.equal(hostileDone, 0, 'health and a read were answered only after the hostile evaluation ended');
        expectError(await hostile, 422, 'WHERE_TOO_EXPENSIVE');
        await stillHealthy();
      });

      test('deeply nested where expressions → 400 EXPRESSION_INVALID (or no matches), never 500', async () => {
        for (const where of ['('.repeat(1999) + '1' + ')'.repeat(1999), '['.repeat(1999) + '1' + ']'.repeat(1999), '-'.repeat(3999) + '1']) {
          const before = await snapshot();
          const res = await t.call('GET', `/api/v1/entities/order?where=${enc(where)}`);
          if (res.statusCode === 200) assert.deepEqual(res.json(), { items: [], nextCursor: null });
          else expectError(res, 400, 'EXPRESSION_INVALID', { path: 'where' });
          assert.deepEqual(await snapshot(), before);
        }
        await stillHealthy();
      });

      test('unknown routes → 404 NOT_FOUND with a JSON error body', async () => {
        for (const [method, url] of [
          ['GET', '/api/v1/nope'],
          ['GET', '/api/v2/entities/sample'],
          ['POST', '/api/v1/entities'],
          ['DELETE', '/api/v1/entity-types'],
          ['GET', '/api/v1/entities/sample/x/y/z'],
          ['GET', '/nope'],
        ] as const) {
          await refused(() => t.call(method, url), 404, 'NOT_FOUND');
          await refused(() => t.call(method, url, undefined, { key: null }), 404, 'NOT_FOUND');
        }
      });
    });

    describe('saves refused before writing', () => {
      test('invalid If-Match → 400 INVALID_IF_MATCH', async () => {
        for (const ifMatch of ['abc', '"abc"', 'W/abc', '-1', '"1.5"', '1'.repeat(30)]) {
          await refused(
            () => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, { attributes: { name: 'changed' } }, { headers: { 'if-match': ifMatch } }),
            400,
            'INVALID_IF_MATCH',
          );
        }
      });

      test('a stale If-Match → 409 VERSION_CONFLICT', async () => {
        await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, { attributes: { name: 'changed' } }, { headers: { 'if-match': '"999"' } }), 409, 'VERSION_CONFLICT');
      });

      test('a status that is not a status of the type → 400 STATUS_UNKNOWN', async () => {
        for (const status of ['nope', 'DONE', 'received', '']) {
          await refused(() => t.call('PATCH', `/api/v1/entities/sample/${sampleId}`, { status }), 400, 'STATUS_UNKNOWN');
          await refused(() => t.call('POST', '/api/v1/entities/sample', { attributes: { name: 'x' }, status }), 400, 'STATUS_UNKNOWN');
        }
      });

      test('hostile requirement conditions: PUT refused with EXPRESSION_INVALID naming requirements[i].condition', async () => {
        const hostile: Array<[string, string]> = [
          ['function($x){$x}(1)', 'EXPR_FORBIDDEN'],
          ['$eval("true")', 'EXPR_FORBIDDEN'],
          ['$contains(name, /(a+)+$/)', 'EXPR_UNSAFE_REGEX'],
          ['($count := function(){1}; $count() = 1)', 'EXPR_FORBIDDEN'],
          ['name = ', 'EXPR_SYNTAX'],
          ['x'.repeat(5000), 'EXPR_TOO_LONG'],
        ];
        for (const [condition, code] of hostile) {
          const def = {
            ...SAMPLE_TYPE,
            requirements: [
              { key: 'fine', condition: '$exists(name)', message: 'Name is set' },
              { key: 'evil', condition, message: 'Evil' },
            ],
          };
          // replacing an existing type: its version and definition stay as they were
          await refused(() => t.call('PUT', '/api/v1/entity-types/sample', def), 400, 'EXPRESSION_INVALID', { path: 'requirements[1].condition', code });
          // creating a new type: it is not created
          await refused(() => t.call('PUT', '/api/v1/entity-types/evil', def), 400, 'EXPRESSION_INVALID', { path: 'requirements[1].condition', code });
          expectError(await t.call('GET', '/api/v1/entity-types/evil'), 404, 'ENTITY_TYPE_NOT_FOUND');
        }
        await stillHealthy();
      });

      test('a requirement hostile only at runtime: saves complete, the requirement fails with its error, the server stays healthy', async () => {
        const def = {
          name: 'Hostile',
          attributes: [{ key: 'note', type: 'string' }],
          statuses: [{ key: 'open', initial: true }, { key: 'ok' }],
          requirements: [
            { key: 'big_pad', condition: '$length($pad("", 100000000)) > 0', message: 'Pad' },
            { key: 'big_range', condition: '[1..1e9] ~> $count() > 0', message: 'Range' },
            { key: 'big_seq', condition: '$count([1..10000000]) > 0', message: 'Sequence' },
            { key: 'fine', condition: '$exists(note)', message: 'Note is set' },
          ],
          transitions: [{ from: ['open'], to: 'ok', when: ['fine'], auto: true }],
        };
        const put = await t.call('PUT', '/api/v1/entity-types/hostile', def);
        assert.equal(put.statusCode, 201, put.body);
        type Saved = { id: string; version: number; status: string; requirements: Array<{ key: string; passed: boolean; error?: { code: string; message: string } }> };
        const check = (body: Saved) => {
          const byKey = new Map(body.requirements.map((r) => [r.key, r]));
          for (const key of ['big_pad', 'big_range', 'big_seq']) {
            const r = byKey.get(key)!;
            assert.equal(r.passed, false, key);
            assert.equal(typeof r.error?.code, 'string', `${key} shows its error`);
            assert.match(r.error!.code, /^EXPR_/);
            assert.ok(r.error!.message.length > 0);
          }
          assert.equal(byKey.get('fine')?.passed, true);
          assert.equal(byKey.get('fine')?.error, undefined);
        };
        let started = Date.now();
        const created = await t.call('POST', '/api/v1/entities/hostile', { attributes: { note: 'x' } });
        assert.equal(created.statusCode, 201, created.body);
        assert.ok(Date.now() - started < 10_000, `create took ${Date.now() - started} ms`);
        const saved = created.json<Saved>();
        check(saved);
        assert.equal(saved.status, 'ok');
        started = Date.now();
        const patched = await t.call('PATCH', `/api/v1/entities/hostile/${saved.id}`, { attributes: { note: 'y' } });
        assert.equal(patched.statusCode, 200, patched.body);
        check(patched.json<Saved>());
        assert.equal(patched.json<Saved>().version, 2);
        const read = await t.call('GET', `/api/v1/entities/hostile/${saved.id}`);
        assert.equal(read.statusCode, 200, read.body);
        check(read.json<Saved>());
        assert.ok(Date.now() - started < 10_000, `patch + read took ${Date.now() - started} ms`);
        await stillHealthy();
      });
    });
  });
}
