/** `statusflow start`: the API and the workers (STATUSFLOW_WORKERS, default 1) in one process. */
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { buildApp } from '../api/app.js';
import { bootstrap } from '../engine/access.js';
import { Pruner } from '../engine/retention.js';
import { BatchFeeder, type FeederOptions } from '../engine/batches/feeder.js';
import type { ExecutorOptions } from '../engine/executor/executor.js';
import { applyHeapGrowth } from './heap.js';
import { closeServices, createExecutors, openServices, VERSION } from './runtime.js';

/** The built console: console/dist at the package root (from dist/cli/ or src/cli/ alike). */
const CONSOLE_DIR = resolve(import.meta.dirname, '../../console/dist');

/**
 * Worker and feeder options no setting offers: only bench/batch's non-default scenarios (its server.mjs) pass
 * them (provider batching off, a faster feeder); `statusflow start` never does.
 */
export interface StartTuning {
  worker?: Omit<ExecutorOptions, 'log'>;
  feeder?: Omit<FeederOptions, 'log'>;
}

export async function start(config: Config, tuning: StartTuning = {}): Promise<void> {
  applyHeapGrowth(config.heapGrowthPercent);
  const { services, applied } = await openServices(config);
  const { organization, generatedAdminKey } = await bootstrap(services, config.adminKey);
  const pruner = new Pruner(services.database, config.retention);
  const app = await buildApp({ services, defaultOrgId: organization.id, version: VERSION, bodyLimit: config.bodyLimit, logLevel: config.logLevel, consoleDir: CONSOLE_DIR, pruner });
  if (applied.length > 0) app.log.info({ migrations: applied }, 'database migrated');
  if (generatedAdminKey) {
    // Printed once, on first start; only its hash is stored.
    process.stdout.write(
      `\n  Statusflow created the default organization and an admin API key:\n\n    ${generatedAdminKey}\n\n` +
        '  Keep it: it is shown only this once. Use it as "Authorization: Bearer <key>".\n\n',
    );
  }
  const log = (level: 'info' | 'warn' | 'error', msg: string, extra?: unknown) => app.log[level](extra ?? {}, msg);
  const executors = createExecutors(services, config, config.workers, log, tuning.worker);
  pruner.log = log;
  // Every process feeds batches (also one without workers): a batch goes on after any restart.
  const feeder = new BatchFeeder(services, { ...tuning.feeder, log });
  // Postgres: streams here show what other statusflow processes do, and they see what happens here.
  await services.relay.startSending(log).catch((err: unknown) => log('warn', 'cannot relay events to other statusflow processes', { err }));
  await services.relay.startListening().catch((err: unknown) => log('warn', 'LISTEN failed: streams here will not show what other statusflow processes do', { err }));
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    // Runs get the grace minus a reserve for closing (runGraceMs): this is only the last resort.
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs + 1_000);
    force.unref();
    const t0 = Date.now();
    await app.close();
    await Promise.all([...executors.map((e) => e.stop()), pruner.stop(), feeder.stop()]);
    await closeServices(services);
    app.log.info({ ms: Date.now() - t0, walBytes: services.database.checkpointer?.walBytesAtStop }, 'stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
  for (const e of executors) await e.start();
  pruner.start();
  feeder.start();
  app.log.info({ database: services.database.dialect, version: VERSION, workers: executors.length }, `Statusflow listening on http://localhost:${config.port}`);
}
