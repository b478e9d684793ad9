/** The Fastify application: error handling, auth, OpenAPI and the routes. Tested in-process with inject(). */
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Authenticator } from '../engine/access.js';
import type { Services } from '../engine/services.js';
import { installAuth } from './auth.js';
import { clientError, installErrorHandling, toErrorBody, writeClientError } from './http-errors.js';
import { AppError } from '../domain/errors.js';
import { adminRoutes } from './routes/admin.js';
import { entityRoutes } from './routes/entities.js';
import { entityTypeRoutes } from './routes/entity-types.js';
import { processRoutes } from './routes/processes.js';
import { connectionRoutes } from './routes/connections.js';
import { definitionRoutes } from './routes/definitions.js';
import { runRoutes, type RunRouteOptions } from './routes/runs.js';
import { batchRoutes } from './routes/batches.js';
import { streamRoutes, type StreamRouteOptions } from './routes/stream.js';
import { consolePlugin } from './console.js';
import { storageRoutes } from './routes/storage.js';
import type { Pruner } from '../engine/retention.js';

export interface AppOptions {
  services: Services;
  defaultOrgId: string;
  version: string;
  bodyLimit?: number;
  logLevel?: string;
  /** Where log lines go (default: stdout). Tests pass a stream to read them. */
  logStream?: { write(line: string): void };
  /** Options of the run routes (e.g. the server-side wait limit of ad hoc processing). */
  runs?: RunRouteOptions;
  /** Options of the live-updates stream. */
  stream?: StreamRouteOptions;
  /** The built web console to serve at `/` (none when absent). */
  consoleDir?: string;
  /** The retention pruner, for GET /api/v1/admin/storage. */
  pruner?: Pruner;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logStream ? { level: options.logLevel ?? 'info', stream: options.logStream } : { level: options.logLevel ?? 'info' },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // One log line per request costs throughput; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 10_000 },
    // Malformed URLs and over-long path parameters get the API's error shape too.
    frameworkErrors: (error, _request, reply) => {
      const appError = clientError(error) ?? new AppError('BAD_REQUEST', error.message);
      void (reply as FastifyReply).status(appError.status).send(toErrorBody(appError));
    },
    // A request line over 16 KB (431) or malformed HTTP, refused by Node before Fastify sees a request.
    clientErrorHandler: writeClientError,
  });
  // Schemas are documentation; zod and the domain parsers validate, with the catalogue's codes.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // JSON only: strict UTF-8 (invalid bytes are an error, not silently replaced), `__proto__` refused,
  // and an empty body with Content-Type: application/json is "no body". No other body types.
  app.removeAllContentTypeParsers();
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const encoding = request.headers['content-encoding'];
    if (encoding && encoding !== 'identity') return done(new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${encoding}" is not supported; send the body uncompressed.`), undefined);
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(new AppError('INVALID_JSON', 'The request body is not valid UTF-8.'), undefined);
    }
    if (text.trim() === '') return done(null, undefined);
    jsonParser(request, text, done);
  });

  installErrorHandling(app, { retryLostConnections: options.services.database.dialect === 'postgres' });
  const authenticator = new Authenticator(options.services);
  installAuth(app, authenticator);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Statusflow API', version: options.version, description: 'REST API v1. See docs/ for concepts and docs/errors.md for error codes.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs' });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  entityTypeRoutes(app, options.services);
  entityRoutes(app, options.services);
  processRoutes(app, options.services);
  connectionRoutes(app, options.services);
  await definitionRoutes(app, options.services);
  runRoutes(app, options.services, options.runs);
  batchRoutes(app, options.services);
  streamRoutes(app, options.services, options.stream);
  adminRoutes(app, options.services, { authenticator, defaultOrgId: options.defaultOrgId, version: options.version });
  if (options.consoleDir) await app.register(consolePlugin, { root: options.consoleDir });
  storageRoutes(app, options.services, { pruner: options.pruner, defaultOrgId: options.defaultOrgId });
  return app;
}
