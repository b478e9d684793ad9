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

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

const objectRefs = { type: 'array', items: { type: 'object', properties: { kind: { enum: ['entityType', 'connection', 'process'] }, key: { type: 'string' } } } };
const documentSchema = {
  type: 'object',
  properties: {
    entityTypes: { type: 'array', items: { type: 'object', required: ['key'], additionalProperties: true } },
    connections: { type: 'array', items: { type: 'object', required: ['key', 'provider'], additionalProperties: true } },
    processes: { type: 'array', items: { type: 'object', required: ['key'], additionalProperties: true } },
  },
};
const errorResponse = { description: 'Error', type: 'object', properties: { error: { type: 'object' } } };
const flag = { type: 'string', enum: ['true', 'false'] };

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
        schema: {
          tags: ['definitions'],
          summary: 'Apply a definitions document (JSON or YAML) all or nothing; ?dryRun=true reports with diffs and writes nothing; ?prune=true also deletes what the document no longer has',
          security: [{ bearer: [] }],
          querystring: { type: 'object', properties: { dryRun: flag, prune: flag } },
          body: documentSchema,
          response: {
            200: { type: 'object', properties: { dryRun: { type: 'boolean' }, created: objectRefs, updated: objectRefs, unchanged: objectRefs, deleted: objectRefs, warnings: { type: 'array' }, diffs: { type: 'array' } } },
            400: errorResponse,
            401: errorResponse,
            403: errorResponse,
            409: errorResponse,
          },
        },
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
      schema: {
        tags: ['definitions'],
        summary: 'Every entity type, connection (without secret values) and process, as the document POST /apply takes',
        security: [{ bearer: [] }],
        querystring: { type: 'object', properties: { format: { enum: ['json', 'yaml'] } } },
        response: { 200: documentSchema, 401: errorResponse },
      },
    },
    async (request, reply) => {
      const yaml = wantsYaml(request);
      const doc = await exportDefinitions(services, callContext(request));
      if (!yaml) return doc;
      return reply.type('application/yaml; charset=utf-8').serializer((d) => d as string).send(stringify(doc, { lineWidth: 0 }));
    },
  );
}
