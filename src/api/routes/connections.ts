/** /api/v1/connections… and /api/v1/entities/{type}/{id}/links (API.md "Connections", "Entities"). */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../domain/errors.js';
import { looksLikeId } from '../../domain/ids.js';
import { isKey } from '../../domain/keys.js';
import { deleteConnection, entityLinks, getConnection, listConnections, putConnection, testConnection } from '../../engine/connections.js';
import type { Services } from '../../engine/services.js';
import { callContext } from '../auth.js';
import { bodyOf, keyParam } from '../input.js';
import { decodeCursor, page, parseLimit } from '../pagination.js';
import { connectionDocs as docs } from '../schemas/connections.js';

interface KeyParams { key: string }
interface EntityParams { type: string; id: string }
interface ListQuery { limit?: unknown; cursor?: unknown }

const connectionKey = (value: string): string => keyParam(value, 'CONNECTION_NOT_FOUND', 'connection');

/**
 * Registers the connection routes. Writing and deleting need `admin` (connections hold credentials);
 * reading needs `read` (secrets are never returned); a credentials check needs `definitions` (editors
 * build the processes that use connections).
 */
export function connectionRoutes(app: FastifyInstance, services: Services): void {
  app.put<{ Params: KeyParams }>('/api/v1/connections/:key', { config: { permission: 'admin' }, schema: docs.put }, async (request, reply) => {
    const key = request.params.key;
    if (!isKey(key)) {
      throw new AppError('INVALID_KEY', `"${String(key).slice(0, 100)}" is not a valid key: use ^[a-z][a-z0-9_]{0,62}$.`, {
        fields: [{ path: 'key', code: 'pattern', message: 'must match ^[a-z][a-z0-9_]{0,62}$' }],
      });
    }
    const { connection, created } = await putConnection(services, callContext(request), key, bodyOf(request));
    return reply.status(created ? 201 : 200).send(connection);
  });

  app.get<{ Querystring: ListQuery }>('/api/v1/connections', { config: { permission: 'read' }, schema: docs.list }, async (request) => {
    const limit = parseLimit(request.query.limit);
    const afterKey = decodeCursor(request.query.cursor);
    const { items, nextKey } = await listConnections(services, callContext(request), { afterKey, limit });
    return page(items, nextKey);
  });

  app.get<{ Params: KeyParams }>('/api/v1/connections/:key', { config: { permission: 'read' }, schema: docs.get }, async (request) => {
    return getConnection(services, callContext(request), connectionKey(request.params.key));
  });

  app.delete<{ Params: KeyParams }>('/api/v1/connections/:key', { config: { permission: 'admin' }, schema: docs.delete }, async (request, reply) => {
    await deleteConnection(services, callContext(request), connectionKey(request.params.key));
    return reply.status(204).send();
  });

  app.post<{ Params: KeyParams }>('/api/v1/connections/:key/test', { config: { permission: 'definitions' }, schema: docs.test }, async (request) => {
    return testConnection(services, callContext(request), connectionKey(request.params.key));
  });

  app.get<{ Params: EntityParams }>('/api/v1/entities/:type/:id/links', { config: { permission: 'read' }, schema: docs.links }, async (request) => {
    const type = keyParam(request.params.type, 'ENTITY_TYPE_NOT_FOUND', 'entity type');
    const id = request.params.id;
    if (!looksLikeId(id)) throw new AppError('ENTITY_NOT_FOUND', `No ${type} with id "${id.slice(0, 100)}".`, { entityType: type });
    return page(await entityLinks(services, callContext(request), type, id), null);
  });
}
