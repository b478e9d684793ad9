/** Opens everything a command needs from a Config: database (migrated), evaluator, services. */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Config } from '../config.js';
import { resealSecrets } from '../engine/connections.js';
import { checkSecretKey, keyRotated, SecretKeyMismatchError } from '../engine/secret-key-check.js';
import { loadOrCreateKeyFile, SecretBox, SecretKeyFileError } from '../engine/secrets.js';
import { createServices, type Services } from '../engine/services.js';
import { Executor, type ExecutorOptions } from '../engine/executor/executor.js';
import { createEvaluator } from '../expr/index.js';
import { setDeniedNetworks } from '../connectors/kit/outbound.js';
import { openDatabase, type Database } from '../store/db.js';
import { migrate } from '../store/migrate.js';

export const VERSION: string = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
})();

export function openConfiguredDatabase(config: Config): Database {
  return config.databaseUrl
    ? openDatabase({ dialect: 'postgres', url: config.databaseUrl, poolSize: config.pgPoolSize })
    : openDatabase({ dialect: 'sqlite', path: join(config.dataDir, 'statusflow.db'), walLimitBytes: config.sqliteWalLimitBytes });
}

/** Operator notices of the start (never a secret): written to stderr. */
export type Warn = (message: string) => void;
const toStderr: Warn = (message) => process.stderr.write(`statusflow: ${message}\n`);

/**
 * The key that encrypts connection secrets: STATUSFLOW_SECRET_KEY, else `<dataDir>/secret.key` (created
 * on first start with mode 0600). Problems with the key file are configuration errors. The key is never printed.
 */
export function openSecretBox(config: Config, warn: Warn = toStderr): SecretBox {
  if (config.secretKey) return new SecretBox(config.secretKey, config.previousSecretKeys);
  const path = join(config.dataDir, 'secret.key');
  let loaded: { key: Buffer; created: boolean };
  try {
    mkdirSync(config.dataDir, { recursive: true });
    loaded = loadOrCreateKeyFile(path);
  } catch (err) {
    if (err instanceof SecretKeyFileError) throw new ConfigError(err.message);
    throw new ConfigError(`cannot prepare the secret key file ${path}: ${(err as Error).message}`);
  }
  const box = new SecretBox(loaded.key, config.previousSecretKeys);
  if (loaded.created) warn(`created ${path} (key ${box.fingerprint}), which encrypts connection secrets: back it up; without it they cannot be read`);
  if (config.databaseUrl) {
    warn(`connection secrets are encrypted with the key in ${path} (key ${box.fingerprint}); every statusflow process on this Postgres database needs the same key: set STATUSFLOW_SECRET_KEY on all of them`);
  }
  return box;
}

export async function openServices(config: Config, warn: Warn = toStderr): Promise<{ services: Services; applied: string[] }> {
  setDeniedNetworks(config.httpDeny);
  const secretBox = openSecretBox(config, warn);
  const database = openConfiguredDatabase(config);
  let applied: string[];
  try {
    applied = await migrate(database);
    // A process whose key is not the database's would fail every run that uses a connection: it refuses to start.
    const source = config.secretKey ? 'STATUSFLOW_SECRET_KEY' : `the key file ${join(config.dataDir, 'secret.key')}`;
    const verdict = await checkSecretKey(database, secretBox, { source, adopt: config.adoptSecretKey });
    if (verdict === 'adopted') warn(`STATUSFLOW_SECRET_KEY_ADOPT: key ${secretBox.fingerprint} is now this database's secret key; secrets sealed with another key must be entered again`);
  } catch (err) {
    await database.close();
    if (err instanceof SecretKeyMismatchError) throw new ConfigError(err.message);
    throw err;
  }
  const evaluator = createEvaluator({ threads: config.exprThreads, timeoutMs: config.exprTimeoutMs, maxMemoryMb: config.exprMemoryMb });
  const services = createServices(database, evaluator, { loopLimit: config.loopLimit, chainDepthLimit: config.chainDepthLimit, chainRunLimit: config.chainRunLimit, pageBytes: config.pageBytes, secretBox });
  if (config.previousSecretKeys.length > 0) {
    const { resealed, unreadable } = await resealSecrets(services);
    warn(`secret key rotation: ${resealed} connection(s) re-encrypted with key ${secretBox.fingerprint}`);
    if (unreadable.length > 0) warn(`the secrets of ${unreadable.length} connection(s) open with none of the configured keys: ${unreadable.slice(0, 10).join(', ')}`);
    // Every secret is under the new key now: from here on, processes with only the old key are refused.
    else if (await keyRotated(database, secretBox)) warn(`secret key rotation: key ${secretBox.fingerprint} is now recorded as this database's key; processes with only the old key will refuse to start`);
  }
  return { services, applied };
}

/** The configured number of workers (not started); `tuning` overrides (bench/batch's scenarios only). */
export function createExecutors(services: Services, config: Config, count: number, log: ExecutorOptions['log'], tuning: Omit<ExecutorOptions, 'log'> = {}): Executor[] {
  return Array.from({ length: count }, () =>
    new Executor(services, { maxInFlight: config.workerConcurrency, pollMs: config.pollMs, leaseMs: config.leaseMs, graceMs: runGraceMs(config), ...tuning, log }),
  );
}

/**
 * How long in-flight runs may finish on shutdown: the shutdown grace minus a reserve (a quarter of it,
 * at most 2 s) for handing the rest back and closing the database, so the whole shutdown ends within
 * the grace a supervisor gives. Closing SQLite right after sustained load took 110–390 ms in bench/soak
 * (docs/operating.md), well inside the reserve.
 */
export function runGraceMs(config: Pick<Config, 'shutdownGraceMs'>): number {
  return config.shutdownGraceMs - Math.min(2_000, Math.floor(config.shutdownGraceMs / 4));
}

export async function closeServices(services: Services): Promise<void> {
  await services.relay.stop();
  await services.evaluator.close();
  await services.database.close();
}
