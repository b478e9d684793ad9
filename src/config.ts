/**
 * The one place that reads environment variables. Everything else receives a `Config`.
 * Bad values fail fast with a message naming the variable and what it expects.
 */
import { resolve } from 'node:path';
import { decodeSecretKey } from './engine/secrets.js';
import { DEFAULT_DENIED_NETWORKS, parseNetworks } from './connectors/kit/outbound.js';

export interface Config {
  /** HTTP port (PORT, default 4600). */
  port: number;
  /** Interface to listen on (HOST, default 0.0.0.0). */
  host: string;
  /** Directory for the embedded SQLite database and generated secrets (STATUSFLOW_DATA_DIR, default ./data). */
  dataDir: string;
  /** Postgres connection string (DATABASE_URL); when absent, embedded SQLite is used. */
  databaseUrl: string | undefined;
  /** Admin key to create on first start (STATUSFLOW_ADMIN_KEY); generated and printed once when absent. */
  adminKey: string | undefined;
  /** Log level (LOG_LEVEL: fatal|error|warn|info|debug|trace|silent, default info). */
  logLevel: string;
  /** Largest accepted request body in bytes (STATUSFLOW_BODY_LIMIT, default 1 MiB). */
  bodyLimit: number;
  /** Expression worker threads (STATUSFLOW_EXPR_THREADS, default 1). */
  exprThreads: number;
  /** Time limit for evaluating one batch of expressions, ms (STATUSFLOW_EXPR_TIMEOUT_MS, default 1000). */
  exprTimeoutMs: number;
  /** Memory limit of each expression worker, MB (STATUSFLOW_EXPR_MEMORY_MB, default 64). */
  exprMemoryMb: number;
  /** Postgres pool size (STATUSFLOW_PG_POOL, default 10). */
  pgPoolSize: number;
  /** Workers inside `statusflow start` (STATUSFLOW_WORKERS, default 1; 0 = API only). */
  workers: number;
  /** Runs one worker executes at once (STATUSFLOW_WORKER_CONCURRENCY, default 64). */
  workerConcurrency: number;
  /** Worker polling interval when nothing wakes it, ms (STATUSFLOW_POLL_MS, default 1000). */
  pollMs: number;
  /** Run lease without heartbeat, ms (STATUSFLOW_LEASE_MS, default 30000). */
  leaseMs: number;
  /** Loop protection: times a process may re-enter itself for one entity in a chain (STATUSFLOW_LOOP_LIMIT, default 3). */
  loopLimit: number;
  /** Loop protection: runs one behind the other in one cause chain (STATUSFLOW_CHAIN_DEPTH_LIMIT, default 10). */
  chainDepthLimit: number;
  /** Loop protection: runs descended from one root run (STATUSFLOW_CHAIN_RUN_LIMIT, default 1000). */
  chainRunLimit: number;
  /** Most bytes of stored data one list page carries before it ends with a cursor (STATUSFLOW_PAGE_BYTES, default 4 MiB). */
  pageBytes: number;
  /**
   * Shutdown grace, ms (STATUSFLOW_SHUTDOWN_GRACE_MS, default 10000): a clean shutdown ends within it.
   * In-flight runs get it minus a reserve for closing the database (a quarter, at most 2 s).
   */
  shutdownGraceMs: number;
  /** SQLite: WAL size that makes the writer pause for a WAL reset, bytes (STATUSFLOW_SQLITE_WAL_LIMIT_MB, default 32; 0 = never reset). */
  sqliteWalLimitBytes: number;
  /**
   * How far V8 lets the server's heap grow past what its last full GC kept, percent (STATUSFLOW_HEAP_GROWTH_PERCENT,
   * default 100; 0 = V8's own choice, up to 300 on a machine with a 2 GB+ heap limit). Not a limit (src/cli/heap.ts).
   */
  heapGrowthPercent: number;
  /** Retention of finished runs and of events (see docs/operating.md "Retention"). */
  retention: RetentionConfig;
  /**
   * Key that encrypts connection secrets (STATUSFLOW_SECRET_KEY: 32 bytes as 64 hex characters or base64).
   * When absent, `<dataDir>/secret.key` is used, created on first start.
   */
  secretKey: Buffer | undefined;
  /** Earlier keys, still accepted for reading while secrets are re-encrypted (STATUSFLOW_SECRET_KEY_PREVIOUS, comma-separated). */
  previousSecretKeys: Buffer[];
  /**
   * Make this process's key the database's even though another is recorded (STATUSFLOW_SECRET_KEY_ADOPT=1):
   * only for a lost key; the secrets sealed with it must be entered again.
   */
  adoptSecretKey: boolean;
  /** Networks tasks may not connect to (STATUSFLOW_HTTP_DENY, comma-separated CIDRs or `none`; default: metadata and link-local). */
  httpDeny: readonly string[];
}

export interface RetentionConfig {
  /** Finished runs (and their steps) older than this are deleted, days (STATUSFLOW_RETAIN_RUNS_DAYS, default 30; 0 = keep). */
  runsDays: number;
  /** Per process, finished runs beyond the newest N are deleted (STATUSFLOW_RETAIN_RUNS_PER_PROCESS, default 0 = no count limit). */
  runsPerProcess: number;
  /** Events older than this are deleted, days (STATUSFLOW_RETAIN_EVENTS_DAYS, default 0 = keep: they are the entities' history). */
  eventsDays: number;
  /** How often the pruner looks for what to delete, ms (STATUSFLOW_PRUNE_INTERVAL_MS, default 300000). */
  intervalMs: number;
  /** Rows deleted per transaction (STATUSFLOW_PRUNE_CHUNK, default 500). */
  chunk: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}; got "${raw}"`);
  }
  return n;
}

function flag(env: Env, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new ConfigError(`${name} must be 1 or 0 (true or false); got "${raw}"`);
}

function secretKey(name: string, raw: string): Buffer {
  const key = decodeSecretKey(raw);
  // The value itself is never repeated in the message.
  if (!key) throw new ConfigError(`${name} must be 32 random bytes written as 64 hex characters or as base64 (e.g. the output of "openssl rand -hex 32"); the value given is neither`);
  return key;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and validates the configuration; throws ConfigError with a readable message. */
export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for embedded SQLite)');
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${logLevel}"`);
  }
  const adminKey = env.STATUSFLOW_ADMIN_KEY || undefined;
  if (adminKey !== undefined && (adminKey.length < 16 || /\s/.test(adminKey))) {
    throw new ConfigError('STATUSFLOW_ADMIN_KEY must be at least 16 characters without spaces');
  }
  const secretKeyText = env.STATUSFLOW_SECRET_KEY || undefined;
  const previousSecretKeys = (env.STATUSFLOW_SECRET_KEY_PREVIOUS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => secretKey('STATUSFLOW_SECRET_KEY_PREVIOUS', k));
  const httpDeny = denyList(env.STATUSFLOW_HTTP_DENY);
  return {
    port: int(env, 'PORT', 4600, 0, 65535),
    host: env.HOST || '0.0.0.0',
    dataDir: resolve(env.STATUSFLOW_DATA_DIR || './data'),
    databaseUrl,
    adminKey,
    logLevel,
    bodyLimit: int(env, 'STATUSFLOW_BODY_LIMIT', 1024 * 1024, 1024, 100 * 1024 * 1024),
    exprThreads: int(env, 'STATUSFLOW_EXPR_THREADS', 1, 1, 64),
    exprTimeoutMs: int(env, 'STATUSFLOW_EXPR_TIMEOUT_MS', 1000, 10, 60_000),
    exprMemoryMb: int(env, 'STATUSFLOW_EXPR_MEMORY_MB', 64, 16, 4096),
    pgPoolSize: int(env, 'STATUSFLOW_PG_POOL', 10, 1, 200),
    workers: int(env, 'STATUSFLOW_WORKERS', 1, 0, 64),
    workerConcurrency: int(env, 'STATUSFLOW_WORKER_CONCURRENCY', 64, 1, 10_000),
    pollMs: int(env, 'STATUSFLOW_POLL_MS', 1000, 10, 60_000),
    leaseMs: int(env, 'STATUSFLOW_LEASE_MS', 30_000, 500, 3_600_000),
    loopLimit: int(env, 'STATUSFLOW_LOOP_LIMIT', 3, 1, 100),
    // At most 100: the stored chain (for the re-entry check) is as long as the depth (005_run_chain.ts).
    chainDepthLimit: int(env, 'STATUSFLOW_CHAIN_DEPTH_LIMIT', 10, 1, 100),
    chainRunLimit: int(env, 'STATUSFLOW_CHAIN_RUN_LIMIT', 1000, 1, 1_000_000),
    pageBytes: int(env, 'STATUSFLOW_PAGE_BYTES', 4 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    shutdownGraceMs: int(env, 'STATUSFLOW_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    sqliteWalLimitBytes: int(env, 'STATUSFLOW_SQLITE_WAL_LIMIT_MB', 32, 0, 65_536) * 1024 * 1024,
    heapGrowthPercent: int(env, 'STATUSFLOW_HEAP_GROWTH_PERCENT', 100, 0, 1000),
    retention: {
      runsDays: int(env, 'STATUSFLOW_RETAIN_RUNS_DAYS', 30, 0, 36_500),
      runsPerProcess: int(env, 'STATUSFLOW_RETAIN_RUNS_PER_PROCESS', 0, 0, 100_000_000),
      eventsDays: int(env, 'STATUSFLOW_RETAIN_EVENTS_DAYS', 0, 0, 36_500),
      intervalMs: int(env, 'STATUSFLOW_PRUNE_INTERVAL_MS', 300_000, 1_000, 86_400_000),
      chunk: int(env, 'STATUSFLOW_PRUNE_CHUNK', 500, 1, 10_000),
    },
    secretKey: secretKeyText === undefined ? undefined : secretKey('STATUSFLOW_SECRET_KEY', secretKeyText),
    previousSecretKeys,
    adoptSecretKey: flag(env, 'STATUSFLOW_SECRET_KEY_ADOPT'),
    httpDeny,
  };
}

/**
 * `statusflow demo`: the server's configuration with the demo's defaults — data in ./demo-data,
 * embedded SQLite, and listening on loopback only (HOST), since the demo's admin key is printed.
 */
export function loadDemoConfig(env: Env = process.env): Config {
  // Always embedded SQLite (DATABASE_URL is ignored), and quiet logs unless LOG_LEVEL asks otherwise.
  return loadConfig({ ...env, DATABASE_URL: '', STATUSFLOW_DATA_DIR: env.STATUSFLOW_DATA_DIR || './demo-data', HOST: env.HOST || '127.0.0.1', LOG_LEVEL: env.LOG_LEVEL || 'warn' });
}

function denyList(raw: string | undefined): readonly string[] {
  if (raw === undefined) return DEFAULT_DENIED_NETWORKS;
  const entries = raw.trim().toLowerCase() === 'none' ? [] : raw.split(',').map((e) => e.trim()).filter(Boolean);
  try {
    parseNetworks(entries);
  } catch (err) {
    throw new ConfigError(`STATUSFLOW_HTTP_DENY: ${(err as Error).message}; or "none" to deny nothing`);
  }
  return entries;
}
