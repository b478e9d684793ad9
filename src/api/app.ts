/** The Fastify application: error handling, auth, OpenAPI and the routes. Tested in-process with inject(). */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Authenticator } from '../engine/access.js';
import type { Services } from '../engine/services.js';
import { authHook } from './auth.js';
import { installErrorHandling } from './http-errors.js';
import { adminRoutes } from './routes/admin.js';
import { entityRoutes } from './routes/entities.js';
import { entityTypeRoutes } from './routes/entity-types.js';
import { processRoutes } from './routes/processes.js';

export interface AppOptions {
  services: Services;
  defaultOrgId: string;
  version: string;
  bodyLimit?: number;
  logLevel?: string;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // One log line per request costs throughput; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
  });
  // Schemas are documentation; zod and the domain parsers validate, with the catalogue's codes.
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // An empty body with Content-Type: application/json is "no body", not an error.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' || (typeof body === 'string' && body.trim() === '')) return done(null, undefined);
    jsonParser(request, body as string, done);
  });

  installErrorHandling(app);
  const authenticator = new Authenticator(options.services);
  app.addHook('onRequest', authHook(authenticator));

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
  adminRoutes(app, options.services, { authenticator, defaultOrgId: options.defaultOrgId, version: options.version });
  return app;
}
