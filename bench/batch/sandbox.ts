/** Starts bench/batch's HubSpot sandbox as a child process (sandbox-child.ts) and talks to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { SandboxChildMessage, SandboxChildOptions } from './sandbox-child.js';

type Stats = Extract<SandboxChildMessage, { type: 'stats' }>;

export interface SandboxChild {
  pid: number;
  url: string;
  token: string;
  /** Requests answered by endpoint, genuine 429s, and deals held. */
  stats(): Promise<{ requestCounts: Map<string, number>; rateLimited: number; deals: number }>;
  close(): Promise<void>;
}

export async function startSandboxChild(o: SandboxChildOptions): Promise<SandboxChild> {
  const child: ChildProcess = fork(join(import.meta.dirname, 'sandbox-child.ts'), [JSON.stringify(o)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const next = <T extends SandboxChildMessage['type']>(type: T) =>
    new Promise<Extract<SandboxChildMessage, { type: T }>>((ok, fail) => {
      const onMessage = (m: SandboxChildMessage) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        ok(m as Extract<SandboxChildMessage, { type: T }>);
      };
      const onExit = () => fail(new Error(`the HubSpot sandbox child exited (${child.exitCode ?? child.signalCode})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next('ready');
  return {
    pid: child.pid!,
    url: ready.url,
    token: ready.token,
    async stats() {
      const answer = next('stats');
      child.send({ type: 'stats' });
      const s: Stats = await answer;
      return { requestCounts: new Map(s.requestCounts), rateLimited: s.rateLimited, deals: s.deals };
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
