/** Starts the mock provider (mock.ts) in its own process and talks to it over IPC (used by bench/e2e and bench/soak). */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface Mock { child: ChildProcess; url: string; ask<T>(type: string, reply: string): Promise<T> }

/** `delayMs`: how long the mock waits before it answers each call (0: at once). */
export async function startMock(delayMs = 0): Promise<Mock> {
  const child = fork(join(import.meta.dirname, 'mock.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, MOCK_DELAY_MS: String(delayMs) } });
  const port = await new Promise<number>((ok, fail) => {
    child.once('message', (m: { port: number }) => ok(m.port));
    child.once('exit', (code) => fail(new Error(`mock exited (${code})`)));
  });
  const ask = <T>(type: string, reply: string) =>
    new Promise<T>((ok) => {
      const on = (m: { type: string }) => {
        if (m.type !== reply) return;
        child.off('message', on);
        ok(m as T);
      };
      child.on('message', on);
      child.send({ type });
    });
  return { child, url: `http://127.0.0.1:${port}`, ask };
}
