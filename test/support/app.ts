/** An in-process Statusflow app on a fresh test database, with helpers for authenticated requests. */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppOptions } from '../../src/api/app.js';
import { bootstrap } from '../../src/engine/access.js';
import { createServices, type Services } from '../../src/engine/services.js';
import { createEvaluator } from '../../src/expr/index.js';
import type { Database, Dialect } from '../../src/store/db.js';
import { openTestDatabase, type TestDatabase } from './databases.js';
import { responseChecker, type OpenApiDocument, type ResponseCheck } from './openapi.js';
import { Executor, type ExecutorOptions } from '../../src/engine/executor/executor.js';
import { Pruner, type RetentionSettings } from '../../src/engine/retention.js';
import { BatchFeeder, type FeederOptions } from '../../src/engine/batches/feeder.js';
import type { Clock } from '../../src/engine/clock.js';

export const ADMIN_KEY = 'sf_test_admin_key_0123456789';

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  dialect: Dialect;
  defaultOrgId: string;
  /** The worker, when the app was started with `worker`. */
  executor?: Executor;
  /** The batch feeder, started with the worker. */
  feeder?: BatchFeeder;
  /** The retention pruner (not started), when the app was started with `retention`. */
  pruner?: Pruner;
  /** Another connection to this app's database (what `peerOf` uses). */
  openDatabaseAgain(): Database;
  /** Request with the admin key unless `key` is given (null: no Authorization header). */
  call(method: InjectOptions['method'], url: string, body?: unknown, options?: { key?: string | null; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  bodyLimit?: number;
  worker?: ExecutorOptions;
  loopLimit?: number;
  chainDepthLimit?: number;
  chainRunLimit?: number;
  pageBytes?: number;
  /** Receives the app's log lines (JSON) at `logLevel` (default: no logs at all). */
  logStream?: { write(line: string): void };
  logLevel?: string;
  retention?: RetentionSettings;
  /** Options of the batch feeder (started with the worker). */
  feeder?: FeederOptions;
  /** Sees every route as it is added (buildApp's onRoute). */
  onRoute?: AppOptions['onRoute'];
  /** The engine's clock (Services.clock), e.g. a ManualClock (clock.ts); default the system's. */
  clock?: Clock;
  /**
   * A second statusflow process on `peerOf`'s database: its own connections, services and bus (its
   * database is closed with it, not dropped). Postgres, or SQLite for reads.
   */
  peerOf?: TestApp;
  /** Relays bus events to and from the other processes on the database (Postgres), as `statusflow start` does. */
  relay?: boolean;
}

/**
 * Every response a suite gets through `call` is checked against the OpenAPI document (test/support/openapi.ts):
 * a field, a type or a status the document does not declare fails the test that got it. One document per
 * test process (every test app serves the same one).
 */
let checker: Promise<ResponseCheck> | undefined;
function documentCheck(app: FastifyInstance): Promise<ResponseCheck> {
  checker ??= app.inject({ method: 'GET', url: '/api/v1/openapi.json' }).then((res) => responseChecker(res.json<OpenApiDocument>(), { skipUnknown: true }));
  return checker;
}

export async function startTestApp(dialect: Dialect, options: TestAppOptions = {}): Promise<TestApp> {
  const database: TestDatabase = options.peerOf ? peerDatabase(options.peerOf) : await openTestDatabase(dialect);
  const evaluator = createEvaluator({ threads: 1, timeoutMs: 1000 });
  const services = createServices(database, evaluator, { loopLimit: options.loopLimit, chainDepthLimit: options.chainDepthLimit, chainRunLimit: options.chainRunLimit, pageBytes: options.pageBytes, clock: options.clock });
  const { organization } = await bootstrap(services, ADMIN_KEY);
  const logging = options.logStream ? { logStream: options.logStream, logLevel: options.logLevel ?? 'trace' } : { logLevel: 'silent' };
  const pruner = options.retention ? new Pruner(database, options.retention) : undefined;
  const app = await buildApp({ services, defaultOrgId: organization.id, version: 'test', bodyLimit: options.bodyLimit, pruner, onRoute: options.onRoute, ...logging });
  await app.ready();
  const executor = options.worker ? new Executor(services, { pollMs: 50, graceMs: 2000, ...options.worker }) : undefined;
  await executor?.start();
  const feeder = options.worker ? new BatchFeeder(services, options.feeder) : undefined;
  feeder?.start();
  if (options.relay) {
    await services.relay.startSending();
    await services.relay.startListening();
  }
  return {
    executor,
    feeder,
    pruner,
    app,
    services,
    dialect,
    defaultOrgId: organization.id,
    openDatabaseAgain: () => database.openAgain(),
    call(method, url, body, opts = {}) {
      const key = opts.key === undefined ? ADMIN_KEY : opts.key;
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (key !== null) headers.authorization = `Bearer ${key}`;
      const req: InjectOptions = { method, url, headers };
      if (body !== undefined) {
        if (typeof body === 'string') {
          req.payload = body;
          headers['content-type'] ??= 'application/json';
        } else req.payload = body as InjectOptions['payload'];
      }
      return app.inject(req).then(async (res) => {
        (await documentCheck(app)).check(String(method), url, res);
        return res;
      });
    },
    async close() {
      await feeder?.stop();
      await executor?.stop();
      await services.relay.stop();
      await app.close();
      await evaluator.close();
      await database.drop();
    },
  };
}

/** Another connection to `of`'s database that `drop()` only closes (the first app removes the database). */
function peerDatabase(of: TestApp): TestDatabase {
  const database = of.openDatabaseAgain();
  return { ...database, drop: () => database.close(), openAgain: () => of.openDatabaseAgain() };
}
