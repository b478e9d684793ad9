/** The OpenAPI document and the browsable docs page. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.js';

describe('OpenAPI', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite');
  });
  after(() => t.close());

  test('health needs no key and names the database', async () => {
    const res = await t.call('GET', '/api/v1/health', undefined, { key: null });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok', database: 'sqlite', version: 'test' });
  });

  test('/api/v1/openapi.json documents every route of the contract implemented here', async () => {
    const res = await t.call('GET', '/api/v1/openapi.json', undefined, { key: null });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, '3.1.0');
    const expected: Record<string, string[]> = {
      '/api/v1/health': ['get'],
      '/api/v1/entity-types': ['get'],
      '/api/v1/entity-types/{key}': ['put', 'get', 'delete'],
      '/api/v1/entities/{type}': ['post', 'get'],
      '/api/v1/entities/{type}/{id}': ['get', 'patch', 'delete'],
      '/api/v1/entities/{type}/{id}/events': ['get'],
      '/api/v1/api-keys': ['post', 'get'],
      '/api/v1/api-keys/{id}': ['delete'],
      '/api/v1/organizations': ['post'],
      '/api/v1/apply': ['post'],
      '/api/v1/export': ['get'],
      '/api/v1/batches': ['post', 'get'],
      '/api/v1/batches/preview': ['post'],
      '/api/v1/batches/{id}': ['get'],
      '/api/v1/batches/{id}/items': ['get'],
      '/api/v1/batches/{id}/pause': ['post'],
      '/api/v1/batches/{id}/retry-failed': ['post'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      assert.ok(doc.paths[path], `missing ${path}`);
      for (const m of methods) assert.ok(doc.paths[path][m], `missing ${m} ${path}`);
    }
    assert.ok(doc.paths['/api/v1/entities/{type}'].post.requestBody);
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: 'API key' });
  });

  test('the browsable API page is served', async () => {
    const res = await t.call('GET', '/api/v1/docs/', undefined, { key: null });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /swagger/i);
  });
});
