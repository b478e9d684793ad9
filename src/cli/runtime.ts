/** Opens everything a command needs from a Config: database (migrated), evaluator, services. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { createServices, type Services } from '../engine/services.js';
import { Executor, type ExecutorOptions } from '../engine/executor/executor.js';
import { createEvaluator } from '../expr/index.js';
import { openDatabase, type Database } from '../store/db.js';
import { migrate } from '../store/migrate.js';

export const VERSION: string = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
})();

export function openConfiguredDatabase(config: Config): Database {
  return config.databaseUrl
    ? openDatabase({ dialect: 'postgres', url: config.databaseUrl, poolSize: config.pgPoolSize })
    : openDatabase({ dialect: 'sqlite', path: join(config.dataDir, 'statusflow.db') });
}

export async function openServices(config: Config): Promise<{ services: Services; applied: string[] }> {
  const database = openConfiguredDatabase(config);
  const applied = await migrate(database);
  const evaluator = createEvaluator({ threads: config.exprThreads, timeoutMs: config.exprTimeoutMs, maxMemoryMb: config.exprMemoryMb });
  return { services: createServices(database, evaluator, { loopLimit: config.loopLimit }), applied };
}

/** The configured number of workers (not started). */
export function createExecutors(services: Services, config: Config, count: number, log: ExecutorOptions['log']): Executor[] {
  return Array.from({ length: count }, () =>
    new Executor(services, { maxInFlight: config.workerConcurrency, pollMs: config.pollMs, leaseMs: config.leaseMs, graceMs: config.shutdownGraceMs, log }),
  );
}

export async function closeServices(services: Services): Promise<void> {
  await services.evaluator.close();
  await services.database.close();
}
