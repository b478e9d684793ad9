/**
 * POST /api/v1/apply and GET /api/v1/export (API.md "Definitions as code"). Apply takes JSON or YAML
 * (`application/yaml`); the YAML parser is registered in this route's own scope, so every other route
 * stays JSON only. Export answers YAML when asked (`Accept: application/yaml` or `?format=yaml`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseDocument, stringify } from 'yaml';
import { AppError } from '../../domain/errors.js';
import { applyDefinitions } from '../../engine/definitions/apply.js';
import { exportDefinitions } from '../../engine/definitions/export.js';
import type { Services } from '../../engine/services.js';
import { callContext } from '../auth.js';
import { definitionDocs as docs } from '../schemas/definitions.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** `?name=true|false` (absent: false); anything else is INVALID_QUERY. */
function booleanQuery(request: FastifyRequest<{ Querystring: Record<string, unknown> }>, name: string): boolean {
  const value = request.query[name];
  if (value === undefined || value === 'false') return false;
  if (value === 'true' || value === '') return true;
  throw new AppError('INVALID_QUERY', `${name} must be true or false.`, { fields: [{ path: name, code: 'type', message: 'must be true or false' }] });
}

function wantsYaml(request: FastifyRequest<{ Querystring: Record<string, unknown> }>): boolean {
  if (request.query.format === 'yaml') return true;
  if (request.query.format !== undefined && request.query.format !== 'json') {
    throw new AppError('INVALID_QUERY', 'format must be json or yaml.', { fields: [{ path: 'format', code: 'enum', message: 'json or yaml' }] });
  }
  const accept = request.headers.accept ?? '';
  return YAML_TYPES.some((t) => accept.includes(t));
}

export async function definitionRoutes(app: FastifyInstance, services: Services): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, body, done) => {
      const text = body as string;
      if (text.trim() === '') return done(null, undefined);
      // YAML anchors can multiply a small file into a huge value: the library's alias limit stops that.
      const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
      const problem = doc.errors[0];
      if (problem) return done(new AppError('INVALID_YAML', `The request body is not valid YAML: ${problem.message}`), undefined);
      try {
        done(null, doc.toJS({ maxAliasCount: 100 }));
      } catch (err) {
        done(new AppError('INVALID_YAML', `The request body is not valid YAML: ${(err as Error).message}`), undefined);
      }
    });

    scope.post<{ Querystring: Record<string, unknown> }>(
      '/api/v1/apply',
      {
        config: { permission: 'definitions' },
        schema: docs.apply,
      },
      async (request) => {
        const options = { dryRun: booleanQuery(request, 'dryRun'), prune: booleanQuery(request, 'prune'), mayWriteConnections: request.principal?.role === 'admin' };
        const body = request.body === undefined ? {} : request.body;
        return applyDefinitions(services, callContext(request), body, options);
      },
    );
  });

  app.get<{ Querystring: Record<string, unknown> }>(
    '/api/v1/export',
    {
      config: { permission: 'read' },
      schema: docs.export,
    },
    async (request, reply) => {
      const yaml = wantsYaml(request);
      const doc = await exportDefinitions(services, callContext(request));
      if (!yaml) return doc;
      return reply.type('application/yaml; charset=utf-8').serializer((d) => d as string).send(stringify(doc, { lineWidth: 0 }));
    },
  );
}
