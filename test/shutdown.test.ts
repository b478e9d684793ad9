/**
 * A clean shutdown after heavy load ends within the shutdown grace, with exit code 0 and the SQLite WAL
 * checkpointed — also when a run is still waiting on a provider that never answers (issue 15). Before,
 * the runs were given the whole grace and a fixed 10 s timer killed the process at the same moment:
 * exit code 1, nothing closed, the WAL left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORDER_TYPE } from './support/order.js';
import { api, mapConcurrent, startServerProcess, TEST_ADMIN_KEY } from './support/server-process.js';
import { eventually } from './support/wait.js';

const GRACE_MS = 10_000;

test('shutdown after heavy load ends within the grace, exit code 0, WAL checkpointed — with a run stuck on a provider', { timeout: 180_000 }, async () => {
  // The provider answers at once, except the order called HANG, which it never answers.
  const held: ServerResponse[] = [];
  let hits = 0;
  const provider = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hits++;
      if (body.includes('HANG')) held.push(res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-shutdown-'));
  const wal = join(dir, 'statusflow.db-wal');
  const server = await startServerProcess({
    command: 'start',
    env: { STATUSFLOW_DATA_DIR: dir, STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY, STATUSFLOW_SHUTDOWN_GRACE_MS: String(GRACE_MS), STATUSFLOW_HTTP_DENY: 'none' },
  });
  try {
    assert.equal((await api(server.origin, 'PUT', '/api/v1/entity-types/order', ORDER_TYPE)).status, 201);
    const processDef = {
      name: 'Deliver',
      entityType: 'order',
      trigger: { status: 'received' },
      settings: { concurrency: 64, timeoutMs: 120_000 },
      tasks: [{ key: 'post', kind: 'http.request', input: { method: 'POST', url: `'${url}/orders'`, body: "{ 'id': order_number, 'email': customer_email }" } }],
    };
    const put = await api(server.origin, 'PUT', '/api/v1/processes/deliver', processDef);
    assert.equal(put.status, 201, JSON.stringify(put.json));
    // Heavy load: 2,000 orders, each with a run that calls the provider.
    const orders = Array.from({ length: 2000 }, (_, i) => i);
    await mapConcurrent(orders, 16, async (i) => {
      const res = await api(server.origin, 'POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${i}`, total: 10, customer_email: `c${i}@example.com` } });
      assert.equal(res.status, 201, JSON.stringify(res.json));
    });
    const hang = await api(server.origin, 'POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-999999', total: 10, customer_email: 'HANG@example.com' } });
    assert.equal(hang.status, 201);
    await eventually(() => held.length > 0, 60_000, () => `the stuck run to call the provider\n${server.output().slice(-3000)}`);
    assert.equal(held.length, 1, 'the stuck run is waiting on the provider');
    assert.ok(existsSync(wal) && statSync(wal).size > 0, 'the WAL holds commits');

    const t0 = Date.now();
    server.child.kill('SIGTERM');
    const exit = await Promise.race([server.exited, new Promise<null>((r) => setTimeout(() => r(null), GRACE_MS + 20_000))]);
    const ms = Date.now() - t0;
    assert.ok(exit, 'the server exited');
    assert.deepEqual(exit, { code: 0, signal: null }, server.output().slice(-3000));
    // Within the grace (runs get 8 s of it); the margin is for this loaded machine.
    assert.ok(ms <= GRACE_MS + 1_500, `shutdown took ${ms} ms (grace ${GRACE_MS})`);
    assert.ok(!existsSync(wal) || statSync(wal).size === 0, `WAL left: ${existsSync(wal) ? statSync(wal).size : 0} bytes`);
    assert.ok(hits >= 2001);
  } finally {
    await server.kill();
    for (const res of held) res.destroy();
    provider.closeAllConnections();
    await new Promise((r) => provider.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});
