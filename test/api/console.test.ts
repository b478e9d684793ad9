/**
 * The web console served by the API process (src/api/console.ts) and GET /api/v1/me, which the
 * console asks to learn the key's role: hashed assets cached for a year, index.html never, unknown
 * console paths answered by index.html, unknown API and asset paths still the API's JSON 404.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { bootstrap, createApiKey } from '../../src/engine/access.js';
import { createServices, type Services } from '../../src/engine/services.js';
import { createEvaluator } from '../../src/expr/index.js';
import { openTestDatabase, type TestDatabase } from '../support/databases.js';
import { ADMIN_KEY } from '../support/app.js';

describe('console and /me', () => {
  let app: FastifyInstance;
  let bare: FastifyInstance;
  let services: Services;
  let database: TestDatabase;
  let orgId: string;
  const evaluator = createEvaluator({ threads: 1, timeoutMs: 1000 });
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-console-'));

  before(async () => {
    mkdirSync(join(dir, 'dist/assets'), { recursive: true });
    writeFileSync(join(dir, 'dist/index.html'), '<!doctype html><title>Statusflow</title>');
    writeFileSync(join(dir, 'dist/favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(dir, 'dist/assets/index-AbC123xy.js'), 'console.log(1)');
    database = await openTestDatabase('sqlite');
    services = createServices(database, evaluator, {});
    const { organization } = await bootstrap(services, ADMIN_KEY);
    orgId = organization.id;
    app = await buildApp({ services, defaultOrgId: orgId, version: 'test', logLevel: 'silent', consoleDir: join(dir, 'dist') });
    bare = await buildApp({ services, defaultOrgId: orgId, version: 'test', logLevel: 'silent', consoleDir: join(dir, 'missing') });
  });
  after(async () => {
    await app.close();
    await bare.close();
    await evaluator.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('index.html at / and at any console path, never cached', async () => {
    for (const url of ['/', '/entities/order', '/runs/01abc?status=failed', '/processes/x/y']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /^text\/html/, url);
      assert.equal(res.headers['cache-control'], 'no-cache', url);
      assert.match(res.body, /<title>Statusflow<\/title>/, url);
    }
  });

  test('hashed assets are cached for a year; the favicon is served', async () => {
    const asset = await app.inject({ method: 'GET', url: '/assets/index-AbC123xy.js' });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    const icon = await app.inject({ method: 'GET', url: '/favicon.svg' });
    assert.equal(icon.statusCode, 200);
    assert.match(String(icon.headers['content-type']), /^image\/svg\+xml/);
  });

  test('unknown API and asset paths stay JSON 404s', async () => {
    for (const url of ['/api/v1/nope', '/api/v2', '/assets/gone-12345678.js']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'NOT_FOUND', url);
    }
    const post = await app.inject({ method: 'POST', url: '/entities/order' });
    assert.equal(post.statusCode, 404);
  });

  test('without a built console only the API answers', async () => {
    const res = await bare.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 404);
    assert.equal((await bare.inject({ method: 'GET', url: '/api/v1/health' })).statusCode, 200);
  });

  test('GET /me tells who the key is, for every role; 401 without a key', async () => {
    const admin = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(admin.statusCode, 200);
    const me = admin.json<{ orgId: string; role: string; name: string; keyId: string }>();
    assert.equal(me.orgId, orgId);
    assert.equal(me.role, 'admin');
    assert.equal(typeof me.keyId, 'string');
    const { key } = await createApiKey(services, orgId, 'read only', 'viewer');
    const viewer = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${key}` } });
    assert.equal(viewer.statusCode, 200);
    const v = viewer.json<{ name: string; role: string }>();
    assert.deepEqual([v.name, v.role], ['read only', 'viewer']);
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/me' })).statusCode, 401);
  });
});
