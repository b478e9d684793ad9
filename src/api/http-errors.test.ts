/** Lost database connections in requests (http-errors.ts): 503 DATABASE_UNAVAILABLE, and handled again while nothing can have been written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { DatabaseUnavailableError } from '../store/pg-pool.js';
import { installErrorHandling } from './http-errors.js';

const lost = () => new DatabaseUnavailableError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }));

test('a request whose connection is lost is handled again; when the database stays away it is answered 503 DATABASE_UNAVAILABLE with Retry-After', async () => {
  const app = Fastify({ logger: false });
  installErrorHandling(app, { retryLostConnections: true });
  let flaky = 0;
  let down = 0;
  app.get('/flaky', async () => {
    if (++flaky === 1) throw lost();
    return { ok: true };
  });
  app.get('/down', async () => {
    down++;
    throw lost();
  });
  app.get('/raw', async () => {
    throw Object.assign(new Error('Connection terminated unexpectedly'), {});
  });
  try {
    const ok = await app.inject({ method: 'GET', url: '/flaky' });
    assert.equal(ok.statusCode, 200);
    assert.equal(flaky, 2);
    const res = await app.inject({ method: 'GET', url: '/down' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().error.code, 'DATABASE_UNAVAILABLE');
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(down, 6, 'handled 6 times in all');
    // pg's own error, untyped (e.g. from a hook), is a 503 too, never a 500.
    const raw = await app.inject({ method: 'GET', url: '/raw' });
    assert.equal(raw.statusCode, 503);
    assert.equal(raw.json().error.code, 'DATABASE_UNAVAILABLE');
  } finally {
    await app.close();
  }
});
