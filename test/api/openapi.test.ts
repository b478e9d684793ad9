/**
 * The OpenAPI document: every route is in it, it passes a real OpenAPI validator, and the responses the
 * API really sends match the schemas it declares (src/api/schemas/openapi.ts says how a route declares them).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse, RouteOptions } from 'fastify';
import { Validator } from '@seriousme/openapi-schema-validator';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { transformDocument, transformRoute } from '../../src/api/schemas/openapi.js';
import { systemDocs } from '../../src/api/schemas/system.js';
import { apiRoutes, documentAjv, openapiPath, responseChecker, undocumented, type OpenApiDocument } from '../support/openapi.js';
import { exerciseApi } from './openapi-exercise.js';

describe('OpenAPI', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  const routes: RouteOptions[] = [];
  before(async () => {
    t = await startTestApp('sqlite', { onRoute: (r) => void routes.push(r) });
    const res = await t.call('GET', '/api/v1/openapi.json', undefined, { key: null });
    assert.equal(res.statusCode, 200);
    doc = res.json();
  });
  after(() => t.close());

  test('health needs no key and names the database', async () => {
    const res = await t.call('GET', '/api/v1/health', undefined, { key: null });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok', database: 'sqlite', version: 'test' });
  });

  test('every route of the API is in the document with its method, a summary and its responses', () => {
    const api = apiRoutes(routes);
    assert.ok(api.length >= 40, `only ${api.length} routes seen`);
    assert.deepEqual(undocumented(api, doc), []);
    // And nothing else: every documented operation is a route.
    const registered = new Set(api.map((r) => `${r.method} ${openapiPath(r.url)}`));
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    assert.deepEqual(documented.filter((d) => !registered.has(d)), []);
  });

  test('a route without its schema is named: missing from the document, or there without summary and responses', async () => {
    const missing = undocumented([...apiRoutes(routes), { method: 'get', url: '/api/v1/widgets/:id' }], doc);
    assert.deepEqual(missing, ['GET /api/v1/widgets/:id is not in the OpenAPI document: give the route `schema: <resource>Docs.<name>` from src/api/schemas/ (see src/api/schemas/openapi.ts)']);
    // A route registered with no schema at all: swagger lists it, empty.
    const app = Fastify({ logger: false });
    // As in app.ts: route schemas are zod, which Fastify's own validator and serialiser do not take.
    app.setValidatorCompiler(() => () => true);
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 't', version: '0' }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } }, transform: transformRoute, transformObject: transformDocument });
    app.get('/api/v1/widgets', async () => ({ items: [], nextCursor: null }));
    app.get('/api/v1/me', { schema: systemDocs.me }, async () => ({}));
    await app.ready();
    const bare = app.swagger() as unknown as OpenApiDocument;
    await app.close();
    assert.deepEqual(undocumented([{ method: 'get', url: '/api/v1/widgets' }, { method: 'get', url: '/api/v1/me' }], bare), [
      'GET /api/v1/widgets has no summary in the OpenAPI document: give the route `schema: <resource>Docs.<name>` from src/api/schemas/ (see src/api/schemas/openapi.ts)',
    ]);
  });

  test('the document is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    // The validator does fail a broken document (a response without its required description).
    const broken = structuredClone(doc);
    delete (broken.paths['/api/v1/health']!.get!.responses!['200'] as { description?: string }).description;
    assert.equal((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid, false);
  });

  test('every schema in the document compiles as JSON Schema 2020-12 in strict mode (no unknown keyword)', () => {
    const { ajv, local } = documentAjv(doc);
    let n = 0;
    const visit = (where: string, media: Record<string, { schema: Record<string, unknown> }> | undefined) => {
      for (const [type, m] of Object.entries(media ?? {})) {
        assert.doesNotThrow(() => ajv.compile(local(m.schema)), `${where} ${type}`);
        n++;
      }
    };
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops) as Array<[string, { requestBody?: { content: never }; parameters?: Array<{ name: string; schema: Record<string, unknown> }>; responses: Record<string, { content?: never }> }]>) {
        visit(`${method} ${path} body`, op.requestBody?.content);
        for (const p of op.parameters ?? []) assert.doesNotThrow(() => ajv.compile(p.schema), `${method} ${path} ${p.name}`);
        for (const [status, r] of Object.entries(op.responses)) visit(`${method} ${path} ${status}`, r.content);
      }
    }
    assert.ok(n > 80, `${n} schemas`);
    assert.throws(() => ajv.compile({ type: 'object', propertiez: {} }), /unknown keyword/);
  });

  test('the response check refuses a body off its schema, an undeclared status and an unknown route', () => {
    const checker = responseChecker(doc);
    const res = (statusCode: number, body: unknown) =>
      ({ statusCode, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body), json: () => body }) as unknown as LightMyRequestResponse;
    checker.check('GET', '/api/v1/health', res(200, { status: 'ok', database: 'sqlite', version: '1' }));
    assert.throws(() => checker.check('GET', '/api/v1/health', res(200, { status: 'ok', database: 'mysql', version: '1' })), /GET \/api\/v1\/health 200: the body does not match[\s\S]*database/);
    assert.throws(() => checker.check('GET', '/api/v1/health', res(200, { status: 'ok', database: 'sqlite', version: '1', extra: 1 })), /additional properties/);
    assert.throws(() => checker.check('GET', '/api/v1/runs/01aaaaaaaaaaaaaaaaaaaaaaaa/steps', res(203, {})), /GET \/api\/v1\/runs\/\{id\}\/steps answered 203, a status its schema does not declare/);
    // Any other error status is `default`: the error body.
    checker.check('GET', '/api/v1/runs/x/steps', res(503, { error: { code: 'DATABASE_UNAVAILABLE', message: 'later' } }));
    assert.throws(() => checker.check('GET', '/api/v1/runs/x/steps', res(503, { error: { code: 'NOT_A_CODE', message: 'later' } })), /503: the body does not match/);
    assert.throws(() => checker.check('GET', '/api/v1/nowhere', res(200, {})), /no such operation/);
    assert.deepEqual([...checker.answered], ['GET /api/v1/health']);
  });

  test('the request schemas are the ones the handlers validate with', () => {
    const body = (path: string, method: string) => (doc.paths[path]![method] as { requestBody: { required: boolean; content: Record<string, { schema: { properties: Record<string, unknown>; additionalProperties?: boolean; required?: string[] } }> } }).requestBody;
    const create = body('/api/v1/entities/{type}', 'post');
    assert.deepEqual(Object.keys(create.content['application/json']!.schema.properties), ['attributes', 'status']);
    assert.equal(create.content['application/json']!.schema.additionalProperties, false);
    assert.equal(create.required, false, 'no body counts as {}');
    const keyBody = body('/api/v1/api-keys', 'post');
    assert.deepEqual(keyBody.content['application/json']!.schema.required, ['name', 'role']);
    assert.equal(keyBody.required, true);
    const entityType = body('/api/v1/entity-types/{key}', 'put').content['application/json']!.schema as { properties: { attributes: { items: { properties: { type: { enum: string[] } } } } } };
    assert.deepEqual(entityType.properties.attributes.items.properties.type.enum, ['string', 'number', 'integer', 'boolean', 'date', 'datetime', 'enum', 'json']);
    assert.deepEqual(Object.keys(body('/api/v1/apply', 'post').content).sort(), ['application/json', 'application/yaml']);
    assert.deepEqual(doc.components.schemas.Error!.required, ['error']);
  });

  test('the browsable API page is served', async () => {
    const res = await t.call('GET', '/api/v1/docs/', undefined, { key: null });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /swagger/i);
  });
});

for (const dialect of DIALECTS) {
  describe(`OpenAPI: real responses match their declared schemas (${dialect})`, () => {
    test('the main routes, successes and refusals', async () => {
      const t = await startTestApp(dialect, { worker: {}, retention: { runsDays: 30, runsPerProcess: 0, eventsDays: 0, intervalMs: 3_600_000, chunk: 500 } });
      try {
        const doc = (await t.call('GET', '/api/v1/openapi.json', undefined, { key: null })).json<OpenApiDocument>();
        const checker = responseChecker(doc);
        await exerciseApi(t, checker.check);
        // Every documented operation answered at least once with a success and was checked (the stream is not JSON).
        const unexercised = Object.entries(doc.paths)
          .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
          .filter((op) => !checker.answered.has(op) && op !== 'GET /api/v1/stream');
        assert.deepEqual(unexercised, [], 'add a call of these routes to test/api/openapi-exercise.ts');
      } finally {
        await t.close();
      }
    });
  });
}
