/**
 * `statusflow demo` as a newcomer runs it (the build when current, as after `npm ci`; else tsx): a
 * temp data folder and a free port. It must end with the sandboxes holding the expected deals and
 * files, and the orders holding the links to them.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, cliArgs, freePort, ROOT, TEST_ADMIN_KEY } from './support/server-process.js';
import { eventually } from './support/wait.js';

function runDemo(env: Record<string, string>): { child: ChildProcess; output: () => string; done: Promise<number | null> } {
  const clean: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(clean)) if (k === 'DATABASE_URL' || k === 'PORT' || k === 'NODE_OPTIONS' || k === 'NODE_TEST_CONTEXT' || k.startsWith('STATUSFLOW_')) delete clean[k];
  const child = spawn(process.execPath, [...cliArgs(), 'demo'], { cwd: ROOT, env: { ...clean, NODE_ENV: 'production', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return { child, output: () => out, done };
}

describe('statusflow demo', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('runs the whole loop: requirement → status → process → HubSpot deal + Dropbox file + links', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statusflow-demo-'));
    dirs.push(dir);
    const port = await freePort();
    const demo = runDemo({ PORT: String(port), STATUSFLOW_DATA_DIR: join(dir, 'demo-data'), STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY });
    try {
      await eventually(
        () => {
          if (demo.child.exitCode !== null) assert.fail(`the demo exited (${demo.child.exitCode}):\n${demo.output()}`);
          return demo.output().includes('Try next:');
        },
        90_000,
        () => `the demo to finish ("Try next:"):\n${demo.output()}`,
      );
      const out = demo.output();
      assert.match(out, /BAD-7 +refused, nothing written: ENTITY_REQUIREMENTS_FAILED/);
      assert.match(out, /ORD-1003 +new +\(waiting: Customer email is required/);
      assert.match(out, new RegExp(`STATUSFLOW_API_KEY=${TEST_ADMIN_KEY}`));
      const hubspotUrl = /sandbox HubSpot (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      const dropboxUrl = /sandbox Dropbox (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;

      const deals = ((await (await fetch(`${hubspotUrl}/sandbox`)).json()) as { deals: Array<{ id: string; properties: Record<string, string> }> }).deals;
      assert.deepEqual(deals.map((d) => [d.properties.dealname, d.properties.amount]).sort(), [['Order ORD-1001', '250'], ['Order ORD-1002', '90']]);
      const files = ((await (await fetch(`${dropboxUrl}/sandbox`)).json()) as { files: Array<{ path: string; content: string; sharedLink: string }> }).files;
      assert.deepEqual(files.map((f) => f.path), ['/orders/ORD-1001.json', '/orders/ORD-1002.json']);
      assert.equal(JSON.parse(await (await fetch(files[0]!.sharedLink)).text()).order, 'ORD-1001');

      const origin = `http://127.0.0.1:${port}`;
      const orders = (await api(origin, 'GET', '/api/v1/entities/order')).json.items as Array<{ id: string; status: string; attributes: { order_number: string } }>;
      const byNumber = new Map(orders.map((o) => [o.attributes.order_number, o]));
      assert.deepEqual([...byNumber.keys()].sort(), ['ORD-1001', 'ORD-1002', 'ORD-1003'], 'BAD-7 was refused');
      assert.deepEqual(['ORD-1001', 'ORD-1002', 'ORD-1003'].map((n) => byNumber.get(n)!.status), ['approved', 'approved', 'new']);
      for (const n of ['ORD-1001', 'ORD-1002']) {
        const links = (await api(origin, 'GET', `/api/v1/entities/order/${byNumber.get(n)!.id}/links`)).json.items as Array<{ provider: string; externalId: string; url: string | null }>;
        const deal = deals.find((d) => d.properties.dealname === `Order ${n}`)!;
        assert.equal(links.find((l) => l.provider === 'hubspot')?.externalId, deal.id, `${n}'s deal link`);
        assert.equal(links.find((l) => l.provider === 'dropbox')?.url, files.find((f) => f.path === `/orders/${n}.json`)!.sharedLink, `${n}'s file link`);
        assert.equal(deal.properties.statusflow_id, byNumber.get(n)!.id, 'the deal is keyed on the order id');
      }
      assert.equal((await api(origin, 'GET', `/api/v1/entities/order/${byNumber.get('ORD-1003')!.id}/links`)).json.items.length, 0);
      const runs = (await api(origin, 'GET', '/api/v1/runs')).json.items as Array<{ status: string }>;
      assert.deepEqual(runs.map((r) => r.status), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    } finally {
      demo.child.kill('SIGTERM');
      assert.equal(await demo.done, 0, 'Ctrl-C ends the demo cleanly');
    }
  });

  test('never empties a folder it did not make', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'statusflow-demo-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    const demo = runDemo({ PORT: String(await freePort()), STATUSFLOW_DATA_DIR: dir });
    assert.equal(await demo.done, 1);
    assert.match(demo.output(), /is not empty and was not made by "statusflow demo"/);
  });
});
