import { after, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpCall } from './http.js';
import { DEFAULT_DENIED_NETWORKS, embeddedIPv4, isDenied, parseNetworks, setDeniedNetworks } from './outbound.js';
import { failureOf } from '../../../test/support/connection-context.js';

/** A fresh server each time: a kept-alive connection from an earlier test would skip the check (it is made per connection). */
async function serve(handler: Parameters<typeof createServer>[1], host = '127.0.0.1'): Promise<{ port: number; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    handler!(req, res);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits: () => hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('outbound deny list', () => {
  after(() => setDeniedNetworks(DEFAULT_DENIED_NETWORKS));

  test('the defaults deny metadata and link-local addresses, IPv4-mapped ones too, and allow loopback and private networks', () => {
    setDeniedNetworks(DEFAULT_DENIED_NETWORKS);
    for (const a of ['169.254.169.254', '169.254.0.1', '100.100.100.200', '0.0.0.0', 'fe80::1', 'fd00:ec2::254', '::ffff:169.254.169.254']) assert.ok(isDenied(a), a);
    for (const a of ['127.0.0.1', '::1', '10.1.2.3', '192.168.1.1', '172.16.0.1', '8.8.8.8', '100.100.100.201']) assert.ok(!isDenied(a), a);
  });

  test('the strict list of docs/tasks.md refuses every IPv6 spelling of loopback, private and metadata addresses', () => {
    const strict = /STATUSFLOW_HTTP_DENY=([^`\s]+)/.exec(readFileSync(new URL('../../../docs/tasks.md', import.meta.url), 'utf8'))![1]!.split(',');
    setDeniedNetworks(strict);
    const refused = [
      ...['0.0.0.0', '127.0.0.1', '127.255.0.1', '10.0.0.1', '192.168.1.1', '169.254.169.254'],
      ...['::', '0:0:0:0:0:0:0:0', '::1', 'fe80::1', 'fd12:3456::1'], // unspecified, loopback, link-local, private (fc00::/7)
      ...['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:0:127.0.0.1', '::127.0.0.1', '::ffff:a9fe:a9fe'], // mapped, translated, compatible
      ...['64:ff9b::7f00:1', '64:ff9b::192.168.1.1', '64:ff9b:1::a00:1'], // NAT64
      ...['2002:7f00:1::1', '2002:c0a8:101:1::1'], // 6to4
      '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo whose client is 127.0.0.1
    ];
    for (const a of refused) assert.ok(isDenied(a), a);
    for (const a of ['8.8.8.8', '2001:4860:4860::8888', '64:ff9b::808:808', '2002:808:808::1', '2001:db8::7f00:1']) assert.ok(!isDenied(a), a);
  });

  test('the defaults refuse [::] (it reaches this host, as 0.0.0.0 does) and metadata behind NAT64 or 6to4; loopback stays allowed', () => {
    setDeniedNetworks(DEFAULT_DENIED_NETWORKS);
    for (const a of ['::', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1', '::ffff:0:169.254.169.254']) assert.ok(isDenied(a), a);
    for (const a of ['::1', '127.0.0.1', '64:ff9b::7f00:1']) assert.ok(!isDenied(a), a);
    assert.deepEqual(embeddedIPv4('2001:0:4136:e378:8000:63bf:3fff:fdd2'), ['65.54.227.120', '192.0.2.45']); // RFC 4380's example
    assert.deepEqual(embeddedIPv4('2001:db8::1'), []);
  });

  test('http://[::] is refused under the strict list, and reaches a loopback server when nothing is denied', async (t) => {
    let target: Awaited<ReturnType<typeof serve>>;
    try {
      target = await serve((_req, res) => res.end('ok'), '::1');
    } catch {
      return t.skip('no IPv6 loopback here');
    }
    try {
      setDeniedNetworks(['0.0.0.0/8', '127.0.0.0/8', '::1/128']); // the list of the issue: no ::/128 entry
      for (const host of ['[::]', '[::1]', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]']) {
        const f = await failureOf(httpCall({ method: 'GET', url: `http://${host}:${target.port}/` }));
        assert.equal(f.code, 'HTTP_ADDRESS_DENIED', host);
      }
      assert.equal(target.hits(), 0);
      setDeniedNetworks([]);
      assert.equal((await httpCall({ method: 'GET', url: `http://[::]:${target.port}/` })).status, 200);
      assert.equal(target.hits(), 1, '[::] reached the server on ::1');
    } finally {
      await target.close();
    }
  });

  test('entries must be networks; the message names the one at fault', () => {
    assert.ok(parseNetworks(['10.0.0.0/8', '::1', '127.0.0.1']));
    for (const bad of ['10.0.0.0/33', 'fe80::/129', 'example.com/8', '10.0.0.0/', '10.0.0.0/8x', '']) {
      assert.throws(() => parseNetworks([bad]), (err: Error) => err.message.includes(`"${bad}"`), bad);
    }
  });

  test('an IP in the URL: HTTP_ADDRESS_DENIED at once, not retryable, nothing sent', async () => {
    setDeniedNetworks(DEFAULT_DENIED_NETWORKS);
    const started = Date.now();
    const f = await failureOf(httpCall({ method: 'GET', url: 'http://169.254.169.254/latest/meta-data/', timeoutMs: 5000 }));
    assert.equal(f.code, 'HTTP_ADDRESS_DENIED');
    assert.equal(f.retryable, false);
    assert.match(f.message, /169\.254\.169\.254.*denied.*STATUSFLOW_HTTP_DENY/);
    assert.ok(Date.now() - started < 1000, 'refused before any connection attempt');
  });

  test('a name that resolves to a denied address is refused, and so is the address itself', async () => {
    const target = await serve((_req, res) => res.end('ok'));
    try {
      setDeniedNetworks(['127.0.0.0/8', '::1/128']);
      const byName = await failureOf(httpCall({ method: 'GET', url: `http://localhost:${target.port}/` }));
      assert.equal(byName.code, 'HTTP_ADDRESS_DENIED');
      assert.match(byName.message, /localhost resolves to/);
      assert.deepEqual(Object.keys(byName.details as object).sort(), ['address', 'host']);
      const byIp = await failureOf(httpCall({ method: 'GET', url: `http://127.0.0.1:${target.port}/` }));
      assert.equal(byIp.code, 'HTTP_ADDRESS_DENIED');
      assert.equal(target.hits(), 0);

      setDeniedNetworks([]); // `none`: the same call goes through
      const ok = await httpCall({ method: 'GET', url: `http://127.0.0.1:${target.port}/` });
      assert.equal(ok.status, 200);
      assert.equal(target.hits(), 1);
    } finally {
      await target.close();
    }
  });

  test('a redirect to a denied address is refused', async () => {
    const target = await serve((_req, res) => res.writeHead(302, { location: `http://127.0.0.2:${9}/steal` }).end());
    try {
      setDeniedNetworks(['127.0.0.2/32']);
      const f = await failureOf(httpCall({ method: 'GET', url: `http://127.0.0.1:${target.port}/` }));
      assert.equal(f.code, 'HTTP_ADDRESS_DENIED');
      assert.equal(target.hits(), 1, 'the first hop was allowed');
    } finally {
      await target.close();
    }
  });
});
