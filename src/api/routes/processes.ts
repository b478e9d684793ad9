/** /api/v1/processes… (API.md "Processes"). */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../domain/errors.js';
import { isKey } from '../../domain/keys.js';
import { deleteProcess, getProcess, listProcesses, listProcessVersions, putProcess } from '../../engine/processes.js';
import type { Services } from '../../engine/services.js';
import { callContext } from '../auth.js';
import { keyParam } from '../input.js';
import { decodeCursor, page, parseLimit } from '../pagination.js';
import { processDocs as docs } from '../schemas/processes.js';

interface KeyParams { key: string }
interface ListQuery { limit?: unknown; cursor?: unknown }

const processKey = (value: string): string => keyParam(value, 'PROCESS_NOT_FOUND', 'process');

/** Registers the process definition routes. */
export function processRoutes(app: FastifyInstance, services: Services): void {
  app.put<{ Params: KeyParams }>('/api/v1/processes/:key', { config: { permission: 'definitions' }, schema: docs.put }, async (request, reply) => {
    const key = request.params.key;
    if (!isKey(key)) {
      throw new AppError('INVALID_KEY', `"${String(key).slice(0, 100)}" is not a valid key: use ^[a-z][a-z0-9_]{0,62}$.`, {
        fields: [{ path: 'key', code: 'pattern', message: 'must match ^[a-z][a-z0-9_]{0,62}$' }],
      });
    }
    const { process, created, warnings } = await putProcess(services, callContext(request), key, request.body);
    return reply.status(created ? 201 : 200).send(warnings.length > 0 ? { ...process, warnings } : process);
  });

  app.get<{ Querystring: ListQuery }>('/api/v1/processes', { config: { permission: 'read' }, schema: docs.list }, async (request) => {
    const limit = parseLimit(request.query.limit);
    const afterKey = decodeCursor(request.query.cursor);
    const { items, nextKey } = await listProcesses(services, callContext(request), { afterKey, limit });
    return page(items, nextKey);
  });

  app.get<{ Params: KeyParams }>('/api/v1/processes/:key', { config: { permission: 'read' }, schema: docs.get }, async (request) => {
    return getProcess(services, callContext(request), processKey(request.params.key));
  });

  app.get<{ Params: KeyParams; Querystring: ListQuery }>(
    '/api/v1/processes/:key/versions',
    { config: { permission: 'read' }, schema: docs.versions },
    async (request) => {
      const limit = parseLimit(request.query.limit);
      const cursor = decodeCursor(request.query.cursor);
      if (cursor !== undefined && !/^[1-9]\d{0,9}$/.test(cursor)) throw new AppError('INVALID_CURSOR');
      const beforeVersion = cursor === undefined ? undefined : Number(cursor);
      const key = processKey(request.params.key);
      const { items, nextVersion } = await listProcessVersions(services, callContext(request), key, { beforeVersion, limit });
      return page(items, nextVersion === null ? null : String(nextVersion));
    },
  );

  app.delete<{ Params: KeyParams }>('/api/v1/processes/:key', { config: { permission: 'definitions' }, schema: docs.delete }, async (request, reply) => {
    await deleteProcess(services, callContext(request), processKey(request.params.key));
    return reply.status(204).send();
  });
}
