/** `statusflow worker`: workers only, no HTTP — run several of them against one Postgres to scale out. */
import type { Config } from '../config.js';
import { applyHeapGrowth } from './heap.js';
import { closeServices, createExecutors, openServices } from './runtime.js';
import { BatchFeeder } from '../engine/batches/feeder.js';

export async function worker(config: Config): Promise<void> {
  if (!config.databaseUrl) {
    console.warn('statusflow worker: no DATABASE_URL; working on the embedded SQLite database. Separate workers are meant for Postgres.');
  }
  applyHeapGrowth(config.heapGrowthPercent);
  const { services } = await openServices(config);
  const log = (level: 'info' | 'warn' | 'error', msg: string, extra?: unknown) => {
    if (level !== 'info' || config.logLevel === 'info' || config.logLevel === 'debug') console.log(JSON.stringify({ level, msg, ...(extra as object) }));
  };
  const executors = createExecutors(services, config, Math.max(1, config.workers), log);
  const feeder = new BatchFeeder(services, { log });
  // Postgres: what runs here shows in the API servers' streams (a worker serves no stream: it does not listen).
  await services.relay.startSending(log).catch((err: unknown) => log('warn', 'cannot relay events to other statusflow processes', { err }));
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs + 5_000);
    force.unref();
    await Promise.all([...executors.map((e) => e.stop()), feeder.stop()]);
    await closeServices(services);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  for (const e of executors) await e.start();
  feeder.start();
  log('info', 'statusflow worker started', { workers: executors.length, database: services.database.dialect });
}
