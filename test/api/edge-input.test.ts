/**
 * Input refused at the edges, in the API's error shape with a stable code: a request line over Node's 16 KB
 * header limit (refused by the HTTP parser, before Fastify has a request, so tested over a real loopback
 * socket), malformed HTTP, and names of organizations and API keys holding U+0000 or a lone surrogate
 * (refused as attribute and type names are, on every database).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

/** Sends raw bytes to the listening app and reads until the server closes: status, headers, body. */
async function rawRequest(port: number, text: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => {
    socket.on('close', () => resolve());
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.write(text);
  });
  const raw = Buffer.concat(chunks).toString('utf8');
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

describe('the HTTP parser’s refusals', () => {
  let t: TestApp;
  let port = 0;
  before(async () => {
    t = await startTestApp('sqlite');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(() => t.close());

  test('a request path over 16 KB → 431 HEADERS_TOO_LARGE in the API’s error shape', async () => {
    const res = await rawRequest(port, `GET /api/v1/entities/order/${'a'.repeat(17 * 1024)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    assert.equal(res.status, 431);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.code, 'HEADERS_TOO_LARGE');
    assert.match(body.error.message, /16 KB/);
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
  });

  test('malformed HTTP → 400 BAD_REQUEST in the API’s error shape', async () => {
    const res = await rawRequest(port, 'GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nBad Header Line\r\n\r\n');
    assert.equal(res.status, 400);
    assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'BAD_REQUEST');
  });

  test('a path within the limit still gets the router’s answer', async () => {
    const res = await rawRequest(port, 'GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 200);
  });
});

for (const dialect of DIALECTS) {
  describe(`names of organizations and API keys on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(dialect);
    });
    after(() => t.close());

    /** The field issues of a 400 VALIDATION_FAILED. */
    function fields(res: { statusCode: number; body: string }): string[] {
      assert.equal(res.statusCode, 400, res.body);
      const body = JSON.parse(res.body) as { error: { code: string; details: { fields: Array<{ path: string; code: string }> } } };
      assert.equal(body.error.code, 'VALIDATION_FAILED');
      return body.error.details.fields.map((f) => `${f.path}:${f.code}`);
    }

    const count = async (): Promise<number> => (await t.call('GET', '/api/v1/api-keys')).json<{ items: unknown[] }>().items.length;

    test('a lone surrogate or U+0000 → 400 VALIDATION_FAILED, name:invalid_string (the code attributes use); nothing written', async () => {
      const before = await count();
      for (const name of ['x\ud800', '\udfffy', 'a\ud83d', 'nul\u0000']) {
        assert.deepEqual(fields(await t.call('POST', '/api/v1/api-keys', { name, role: 'viewer' })), ['name:invalid_string'], JSON.stringify(name));
        assert.deepEqual(fields(await t.call('POST', '/api/v1/organizations', { name })), ['name:invalid_string'], JSON.stringify(name));
      }
      // Written as JSON escapes, as a client would send them.
      assert.deepEqual(fields(await t.call('POST', '/api/v1/api-keys', '{"name": "k\\ud800", "role": "viewer"}')), ['name:invalid_string']);
      assert.deepEqual(fields(await t.call('POST', '/api/v1/organizations', '{"name": "\\udc00"}')), ['name:invalid_string']);
      assert.equal(await count(), before);
    });

    test('blank names are still refused; a surrogate pair is kept as sent, trimmed', async () => {
      assert.deepEqual(fields(await t.call('POST', '/api/v1/api-keys', { name: '   ', role: 'viewer' })), ['name:too_small']);
      const res = await t.call('POST', '/api/v1/api-keys', { name: ' ci 😀 ', role: 'viewer' });
      assert.equal(res.statusCode, 201, res.body);
      const listed = (await t.call('GET', '/api/v1/api-keys')).json<{ items: Array<{ name: string }> }>().items;
      assert.ok(listed.some((k) => k.name === 'ci 😀'));
      const org = await t.call('POST', '/api/v1/organizations', { name: 'Øre 😀' });
      assert.equal(org.statusCode, 201, org.body);
      assert.equal(org.json<{ name: string }>().name, 'Øre 😀');
    });
  });
}
