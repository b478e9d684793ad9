/**
 * Statusflow as a real child process (`statusflow start` / `statusflow worker`) for crash and
 * scale-out tests: start with an env, wait until it is ready, kill -9 it, and keep its output so a
 * failing test can show it. Every child started here is killed when the test process exits.
 *
 * Which build runs: `dist/cli/main.js` when it is newer than every file under src/ (CI builds it in
 * `npm ci`), else the sources through tsx. STATUSFLOW_TEST_SERVER=dist|tsx forces one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openDatabase, type Database, type Dialect } from '../../src/store/db.js';
import { pgAdmin } from './databases.js';
import { eventually } from './wait.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const TEST_ADMIN_KEY = 'sf_test_admin_key_0123456789';

const MAX_OUTPUT = 256 * 1024;
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

/** `node` arguments that run the statusflow CLI: the build when it is current, else tsx on the sources. */
export function cliArgs(runner: 'auto' | 'dist' | 'tsx' = (process.env.STATUSFLOW_TEST_SERVER as 'dist' | 'tsx' | undefined) ?? 'auto'): string[] {
  const dist = join(ROOT, 'dist/cli/main.js');
  const useDist = runner === 'dist' || (runner === 'auto' && existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(join(ROOT, 'src')));
  return useDist ? [dist] : ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
}

export interface ServerProcessOptions {
  command: 'start' | 'worker';
  /** Added to the test process's environment (its DATABASE_URL, PORT, NODE_OPTIONS and STATUSFLOW_* are removed first). */
  env: Record<string, string>;
  /** Shown in messages. */
  name?: string;
  /** `start` only; a free port when absent. */
  port?: number;
  readyTimeoutMs?: number;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…']. */
  nodeArgs?: string[];
  runner?: 'auto' | 'dist' | 'tsx';
  /** A script run with `node` instead of the CLI (it gets `command` as its argument): bench/batch's tuned server. */
  script?: string;
}

export interface ServerProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` for `start`. */
  origin: string;
  /** Everything the child wrote to stdout and stderr (the last 256 KiB). */
  output(): string;
  readonly alive: boolean;
  /** Resolves when the child has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill -9, then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), SIGKILL after `ms`. */
  stop(ms?: number): Promise<void>;
}

/**
 * Starts `statusflow <command>` and waits until it is ready: `start` when GET /api/v1/health answers,
 * `worker` when it logs "statusflow worker started" (LOG_LEVEL is set to info for workers unless given).
 */
export async function startServerProcess(o: ServerProcessOptions): Promise<ServerProcess> {
  const name = o.name ?? o.command;
  const port = o.command === 'start' ? (o.port ?? (await freePort())) : 0;
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (['DATABASE_URL', 'PORT', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS'].includes(k) || k.startsWith('STATUSFLOW_')) delete env[k];
  Object.assign(env, { HOST: '127.0.0.1', LOG_LEVEL: o.command === 'worker' ? 'info' : 'warn', NODE_ENV: 'production' }, o.env);
  if (o.command === 'start') env.PORT = String(port);

  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...(o.script ? [o.script] : cliArgs(o.runner)), o.command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > MAX_OUTPUT * 2) out = out.slice(-MAX_OUTPUT);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      ok({ code, signal });
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const origin = `http://127.0.0.1:${port}`;
  const proc: ServerProcess = {
    name,
    pid: child.pid!,
    child,
    origin,
    output: () => out.slice(-MAX_OUTPUT),
    get alive() {
      return alive();
    },
    exited,
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop(ms = 15_000) {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => alive() && child.kill('SIGKILL'), ms);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (!alive()) throw new Error(`${name} exited before it was ready (${child.exitCode ?? child.signalCode})`);
      if (o.command === 'worker') {
        if (out.includes('statusflow worker started')) break;
      } else {
        const ok = await fetch(`${origin}/api/v1/health`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
      }
      if (Date.now() > deadline) throw new Error(`${name} was not ready within ${o.readyTimeoutMs ?? 60_000} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await proc.kill();
    throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${out.slice(-8000)}`);
  }
  return proc;
}

/** The tail of each process's output, for assertion messages. */
export function outputsOf(procs: Iterable<ServerProcess | undefined>, chars = 4000): string {
  return [...procs]
    .filter((p): p is ServerProcess => p !== undefined)
    .map((p) => `--- ${p.name} (pid ${p.pid}${p.alive ? '' : ', exited'}) ---\n${p.output().slice(-chars) || '(no output)'}`)
    .join('\n');
}

/** A JSON call to a started server with the admin key; `json` is the parsed body (any, like inject's `json()`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function api(origin: string, method: string, path: string, body?: unknown, key = TEST_ADMIN_KEY): Promise<{ status: number; json: any }> {
  const res = await fetch(origin + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  return { status: res.status, json };
}

/** Runs `fn` over `items` with at most `concurrency` at once; results in order. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
    }),
  );
  return out;
}

export interface CountingHit {
  key: string;
  at: number;
}

/** A local target for `http.request` tasks that counts hits per Idempotency-Key. */
export interface CountingTarget {
  url: string;
  /** Every hit in arrival order. */
  hits: CountingHit[];
  /** Hits per Idempotency-Key. */
  counts: Map<string, number>;
  /** Connections open now (a killed client's are closed once the target has read all it sent). */
  readonly connections: number;
  /** Requests being answered now, and the most ever at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Called on every hit (after it is recorded) with the number of hits so far. */
  onHit: ((total: number) => void) | null;
  /** Holds every answer until `release()`. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

/** `delayMs` is asked once per request: the answer (200 {"ok":true}) is sent that much later. */
export async function startCountingTarget(delayMs: () => number = () => 0): Promise<CountingTarget> {
  const hits: CountingHit[] = [];
  const counts = new Map<string, number>();
  let held: Array<() => void> | null = null;
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => inFlight--);
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      hits.push({ key, at: Date.now() });
      counts.set(key, (counts.get(key) ?? 0) + 1);
      target.onHit?.(hits.length);
      const answer = () => {
        const ms = delayMs();
        const send = () => {
          if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        };
        if (ms > 0) setTimeout(send, ms);
        else send();
      };
      if (held) held.push(answer);
      else answer();
    });
  });
  let connections = 0;
  server.on('connection', (socket) => {
    connections++;
    socket.once('close', () => connections--);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const target: CountingTarget = {
    url: `http://127.0.0.1:${port}`,
    hits,
    counts,
    get connections() {
      return connections;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    onHit: null,
    hold() {
      held ??= [];
    },
    release() {
      const waiting = held ?? [];
      held = null;
      for (const answer of waiting) answer();
    },
    close: () =>
      new Promise<void>((r) => {
        target.release();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return target;
}

/** `eventually` at a pace for checks that query the database (every 100 ms). */
export function waitFor<T>(check: () => Promise<T | undefined | false>, ms: number, what: () => string): Promise<T> {
  return eventually(check, ms, what, 100);
}

/** A fresh database for child processes, the env that points them at it, and a way for the test to read it. */
export interface ChildDatabase {
  dialect: Dialect;
  /** STATUSFLOW_DATA_DIR (always) and DATABASE_URL (Postgres). */
  env: Record<string, string>;
  /** Opens the same database in the test process (for SQLite: after the server created it). */
  open(): Database;
  /** Removes the database and the data directory. */
  drop(): Promise<void>;
}

/**
 * SQLite: a temp data directory. Postgres: a fresh schema in TEST_DATABASE_URL's database, selected
 * through the URL (`?options=-c search_path=<schema>`, which node-postgres honours).
 */
export async function createChildDatabase(dialect: Dialect): Promise<ChildDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'statusflow-proc-'));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (dialect === 'sqlite') {
    return { dialect, env: { STATUSFLOW_DATA_DIR: dataDir }, open: () => openDatabase({ dialect: 'sqlite', path: join(dataDir, 'statusflow.db') }), drop: async () => removeDir() };
  }
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `proc_${randomBytes(6).toString('hex')}`;
  await pgAdmin(`CREATE SCHEMA ${schema}`);
  const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    dialect,
    env: { STATUSFLOW_DATA_DIR: dataDir, DATABASE_URL: url },
    open: () => openDatabase({ dialect: 'postgres', url: base, schema, poolSize: 2 }),
    drop: async () => {
      removeDir();
      await pgAdmin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

/** Runs in the database by status (`{succeeded: 498, failed: 2}`): what the cross-process suites wait on. */
export async function runStatusCounts(db: Database['db']): Promise<Record<string, number>> {
  const rows = await db.selectFrom('runs').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
