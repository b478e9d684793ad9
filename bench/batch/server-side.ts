/** bench/batch's server-side pieces: a fresh database for the server process, and its memory log read back. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface ServerDatabase {
  /** STATUSFLOW_DATA_DIR (the SQLite file, the secret key) and, on Postgres, DATABASE_URL. */
  env: Record<string, string>;
  dataDir: string;
  /** Removes the data directory (and the Postgres database). */
  drop(): Promise<void>;
}

/** SQLite: a temp data directory. Postgres: a new database on `pgUrl`'s server, dropped afterwards. */
export async function openServerDatabase(dialect: 'sqlite' | 'postgres', pgUrl: string): Promise<ServerDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'statusflow-bench-batch-'));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (dialect === 'sqlite') return { env: { STATUSFLOW_DATA_DIR: dataDir }, dataDir, drop: async () => removeDir() };
  const name = `statusflow_batch_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(statement).finally(() => c.end());
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return {
    env: { STATUSFLOW_DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    dataDir,
    drop: async () => {
      removeDir();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

interface MemorySample {
  /** 0: the main thread; else the expression worker's (rss is the whole process's either way). */
  thread: number;
  t: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
}

/** memory-log.mjs's samples: the main thread's at the RSS peak, and the largest heap of each thread (MB). */
export function memoryLogSummary(path: string): string {
  if (!existsSync(path)) return '  memory log: none written';
  const all = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MemorySample);
  const main = all.filter((s) => s.thread === 0);
  const worker = all.filter((s) => s.thread !== 0);
  if (main.length === 0) return '  memory log: no sample of the main thread';
  const atPeak = main.reduce((a, b) => (b.rss > a.rss ? b : a));
  const most = (xs: MemorySample[], k: 'heapTotal' | 'heapUsed' | 'external') => Math.max(0, ...xs.map((s) => s[k]));
  const show = (s: MemorySample) => `rss ${s.rss}, heap ${s.heapUsed}/${s.heapTotal}, external ${s.external} (array buffers ${s.arrayBuffers}), spaces ${JSON.stringify(s.spaces)}`;
  return (
    `  memory log (MB, ${main.length} samples): main thread at the RSS peak (t ${atPeak.t} s) ${show(atPeak)}; most heapTotal ${most(main, 'heapTotal')}, heapUsed ${most(main, 'heapUsed')}, external ${most(main, 'external')}; ` +
    `expression worker most heapTotal ${most(worker, 'heapTotal')}, heapUsed ${most(worker, 'heapUsed')}`
  );
}
