/**
 * The `statusflow` command as a real child process for the CLI suites (cliArgs: the build when it is
 * current, else the sources through tsx), and two loopback servers the batch tests need: a target for
 * `http.request` tasks that answers slowly, refuses some paths and can hold its answers, and a proxy in
 * front of Statusflow that records what the CLI asked for and can break its event stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cliArgs } from './server-process.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliChild {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  result: Promise<CliResult>;
}

/** `node [dist/cli/main.js | --import tsx src/cli/main.ts] …args` in `cwd` with exactly `env`. */
export function spawnCli(args: string[], cwd: string, env: Record<string, string>): CliChild {
  // tsx (when the build is not current) must be found from a temp folder too.
  const node = cliArgs().map((a) => (a === 'tsx' ? import.meta.resolve('tsx') : a));
  const child = spawn(process.execPath, [...node, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child);
}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });

/** A task target: 200 after `delayMs`, 422 for paths under /fail/ while `failing`, every answer held while `held`. */
export interface SlowTarget {
  url: string;
  delayMs: number;
  failing: boolean;
  hits: number;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startSlowTarget(delayMs: number): Promise<SlowTarget> {
  let held: Array<() => void> | null = null;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      target.hits++;
      const fail = target.failing && (req.url ?? '').startsWith('/fail/');
      const answer = () =>
        setTimeout(() => {
          if (!res.destroyed) res.writeHead(fail ? 422 : 200, { 'content-type': 'application/json' }).end(fail ? '{"error":"refused by the test target"}' : '{"ok":true}');
        }, target.delayMs);
      if (held) held.push(answer);
      else answer();
    });
  });
  const target: SlowTarget = {
    url: await listen(server),
    delayMs,
    failing: true,
    hits: 0,
    hold: () => void (held ??= []),
    release() {
      const waiting = held ?? [];
      held = null;
      for (const answer of waiting) answer();
    },
    close: async () => {
      target.release();
      await close(server);
    },
  };
  return target;
}

/**
 * A proxy in front of Statusflow: `requests` lists `METHOD path` of every request. `stream` decides what
 * happens to GET /api/v1/stream: passed through, refused with 503, or cut right after its first
 * `batch.updated` event (the connection dies, as when a proxy or the network drops it).
 */
export interface RecordingProxy {
  url: string;
  requests: string[];
  stream: 'pass' | 'refuse' | 'cut';
  close(): Promise<void>;
}

export async function startRecordingProxy(origin: string): Promise<RecordingProxy> {
  const upstream = new URL(origin);
  const server = createServer((req, res) => {
    proxy.requests.push(`${req.method} ${req.url}`);
    const isStream = req.url === '/api/v1/stream';
    if (isStream && proxy.stream === 'refuse') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('stream switched off by the test proxy');
      return;
    }
    const cut = isStream && proxy.stream === 'cut';
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.on('data', (chunk: Buffer) => {
        res.write(chunk);
        if (cut && chunk.toString().includes('event: batch.updated')) {
          up.destroy();
          res.destroy();
        }
      });
      up.on('end', () => res.end());
      up.on('error', () => res.destroy());
    });
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  const proxy: RecordingProxy = { url: await listen(server), requests: [], stream: 'pass', close: () => close(server) };
  return proxy;
}

/** A terminal for the CLI: util-linux `script` gives it a pseudo-terminal (stdin, stdout and stderr are TTYs); null when `script` is missing. */
export function spawnCliInTerminal(args: string[], cwd: string, env: Record<string, string>): (CliChild & { type(text: string): void }) | null {
  const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
  if (!script) return null;
  const node = cliArgs().map((a) => (a === 'tsx' ? import.meta.resolve('tsx') : a));
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, ...node, ...args].map(quote).join(' ');
  // -q quiet, -e the command's exit code, -f flush at once, -c the command; the typescript goes nowhere.
  const child = spawn(script, ['-qefc', command, '/dev/null'], { cwd, env: { ...env, TERM: 'xterm-256color', COLUMNS: '160' }, stdio: ['pipe', 'pipe', 'pipe'] });
  return collect(child, { type: (text: string) => void child.stdin!.write(text) });
}

/** The child's output as it comes, and its exit code and whole output once it closes. */
function collect<X extends object = object>(child: ChildProcess, extra?: X): CliChild & X {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<CliResult>((ok) => child.on('close', (code) => ok({ code, stdout, stderr })));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    result,
    ...(extra as X),
  };
}
