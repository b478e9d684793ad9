/**
 * What the CLI batch suites run against: a real `statusflow start` (SQLite, or a fresh Postgres schema)
 * on a loopback port, a slow task target, a recording proxy in front of the server, and orders: a
 * manual process `ship` posts each to the target, which refuses the orders with total ≥ 900.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { Dialect } from '../../src/store/db.js';
import { spawnCli, startRecordingProxy, startSlowTarget, type CliResult, type RecordingProxy, type SlowTarget } from './cli.js';
import { api, createChildDatabase, mapConcurrent, startServerProcess, TEST_ADMIN_KEY, type ChildDatabase, type ServerProcess } from './server-process.js';

export interface BatchWorld {
  dir: string;
  server: ServerProcess;
  target: SlowTarget;
  proxy: RecordingProxy;
  /** Ids of the orders the target accepts, and of those it refuses. */
  ok: string[];
  failing: string[];
  /** The CLI against the server (or, with `viaProxy`, through the proxy). */
  cli(args: string[], o?: { viaProxy?: boolean }): Promise<CliResult>;
  /** `args --json`, exit `code` expected, stdout parsed. */
  json(args: string[], code?: number): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  env(viaProxy?: boolean): Record<string, string>;
  close(): Promise<void>;
}

export interface WorldOptions {
  dialect: Dialect;
  orders: number;
  /** How many of them the target refuses. */
  failing: number;
  /** How long the target takes per request. */
  delayMs: number;
}

function definitions(target: string) {
  return {
    entityTypes: [
      {
        key: 'order',
        name: 'Order',
        attributes: [
          { key: 'order_number', type: 'string', required: true },
          { key: 'total', type: 'number' },
        ],
        statuses: [
          { key: 'new', name: 'New', initial: true },
          { key: 'received', name: 'Received' },
        ],
        requirements: [{ key: 'positive_total', condition: 'total > 0', message: 'Total must be positive' }],
        transitions: [{ from: ['new'], to: 'received', when: ['positive_total'], auto: true }],
      },
    ],
    connections: [{ key: 'hooks', provider: 'http', name: 'Hooks', config: { baseUrl: target }, secrets: { headers: { 'x-test': 'cli-batches' } } }],
    processes: [
      {
        key: 'ship',
        name: 'Ship',
        entityType: 'order',
        trigger: { manual: true },
        // A window of 3 runs of a batch at once (the process's 4 less the tenth kept for live runs).
        settings: { concurrency: 4, retry: { maxAttempts: 1, initialDelayMs: 100, maxDelayMs: 100 } },
        tasks: [{ key: 'post', kind: 'http.request', connection: 'hooks', input: { method: 'POST', path: "'/' & (total >= 900 ? 'fail' : 'ok') & '/' & order_number" } }],
      },
    ],
  };
}

export async function startBatchWorld(o: WorldOptions): Promise<BatchWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-cli-batches-'));
  let database: ChildDatabase | undefined;
  let server: ServerProcess | undefined;
  let target: SlowTarget | undefined;
  let proxy: RecordingProxy | undefined;
  const close = async () => {
    await proxy?.close();
    await server?.stop();
    await target?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    database = await createChildDatabase(o.dialect);
    target = await startSlowTarget(o.delayMs);
    server = await startServerProcess({ command: 'start', env: { ...database.env, STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY, STATUSFLOW_POLL_MS: '100' } });
    proxy = await startRecordingProxy(server.origin);
    const applied = await api(server.origin, 'POST', '/api/v1/apply', definitions(target.url));
    assert.equal(applied.status, 200, JSON.stringify(applied.json));
    const created = await mapConcurrent(
      Array.from({ length: o.orders }, (_, i) => i),
      4,
      async (i) => {
        const total = i < o.failing ? 900 + i : 10 + i;
        const r = await api(server!.origin, 'POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${1000 + i}`, total } });
        assert.equal(r.status, 201, JSON.stringify(r.json));
        return { id: r.json.id as string, failing: i < o.failing };
      },
    );
    const s = server;
    const p = proxy;
    const env = (viaProxy = false) => ({ PATH: process.env.PATH ?? '', HOME: dir, STATUSFLOW_URL: viaProxy ? p.url : s.origin, STATUSFLOW_API_KEY: TEST_ADMIN_KEY, NODE_ENV: 'production' });
    const cli = (args: string[], co: { viaProxy?: boolean } = {}) => spawnCli(args, dir, env(co.viaProxy)).result;
    return {
      dir,
      server,
      target,
      proxy,
      ok: created.filter((c) => !c.failing).map((c) => c.id),
      failing: created.filter((c) => c.failing).map((c) => c.id),
      cli,
      env,
      async json(args, code = 0) {
        const r = await cli([...args, '--json']);
        assert.equal(r.code, code, `${args.join(' ')} → ${r.code}\n${r.stderr}`);
        return JSON.parse(r.stdout);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The plain progress lines in a command's standard error (progress.ts's format), parsed. */
export function progressLines(stderr: string): Array<{ ended: number; total: number; succeeded: number; failed: number; status: string }> {
  const re = /^\[\d+:\d\d\] (\d+)\/(\d+) \(\d+%\) {2}succeeded (\d+) {2}failed (\d+) {2}skipped \d+ {2}cancelled \d+ {2}[\d.?]+\/s {2}ETA \S+ {2}(\w+)$/gm;
  return [...stderr.matchAll(re)].map((m) => ({ ended: Number(m[1]), total: Number(m[2]), succeeded: Number(m[3]), failed: Number(m[4]), status: m[5]! }));
}
