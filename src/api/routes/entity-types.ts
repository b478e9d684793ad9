/** /api/v1/entity-types… (API.md "Entity types"). */
import type { FastifyInstance } from 'fastify';
import { deleteType, getType, listTypes, putType } from '../../engine/entity-types.js';
import type { Services } from '../../engine/services.js';
import { callContext } from '../auth.js';
import { keyParam } from '../input.js';
import { AppError } from '../../domain/errors.js';
import { isKey } from '../../domain/keys.js';
import { decodeCursor, page, parseLimit } from '../pagination.js';
import { entityTypeDocs as docs } from '../schemas/entity-types.js';

interface KeyParams { key: string }

export function entityTypeRoutes(app: FastifyInstance, services: Services): void {
  app.put<{ Params: KeyParams }>('/api/v1/entity-types/:key', { config: { permission: 'definitions' }, schema: docs.put }, async (request, reply) => {
    const key = request.params.key;
    if (!isKey(key)) {
      throw new AppError('INVALID_KEY', `"${String(key).slice(0, 100)}" is not a valid key: use ^[a-z][a-z0-9_]{0,62}$.`, {
        fields: [{ path: 'key', code: 'pattern', message: 'must match ^[a-z][a-z0-9_]{0,62}$' }],
      });
    }
    const { type, created, warnings } = await putType(services, callContext(request), key, request.body);
    return reply.status(created ? 201 : 200).send(warnings.length > 0 ? { ...type, warnings } : type);
  });

  app.get<{ Querystring: Record<string, unknown> }>('/api/v1/entity-types', { config: { permission: 'read' }, schema: docs.list }, async (request) => {
    const limit = parseLimit(request.query.limit);
    const after = decodeCursor(request.query.cursor);
    const { items, nextKey } = await listTypes(services, callContext(request), { afterKey: after, limit });
    return page(items, nextKey);
  });

  app.get<{ Params: KeyParams }>('/api/v1/entity-types/:key', { config: { permission: 'read' }, schema: docs.get }, async (request) => {
    return getType(services, callContext(request), keyParam(request.params.key, 'ENTITY_TYPE_NOT_FOUND', 'entity type'));
  });

  app.delete<{ Params: KeyParams }>('/api/v1/entity-types/:key', { config: { permission: 'definitions' }, schema: docs.delete }, async (request, reply) => {
    await deleteType(services, callContext(request), keyParam(request.params.key, 'ENTITY_TYPE_NOT_FOUND', 'entity type'));
    return reply.status(204).send();
  });
}
