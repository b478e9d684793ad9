/** /api/v1/entities/{type}… (API.md "Entities"). */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { isPlainObject } from '../../domain/attributes.js';
import { AppError } from '../../domain/errors.js';
import { looksLikeId } from '../../domain/ids.js';
import type { RequirementResult } from '../../domain/transitions.js';
import { entityEvents, findEntities, readEntity, removeEntity } from '../../engine/entities.js';
import { evaluateRequirements } from '../../engine/requirements.js';
import { saveEntity, type SaveResult } from '../../engine/save.js';
import type { Services } from '../../engine/services.js';
import type { EntityRecord } from '../../store/entities.js';
import { callContext } from '../auth.js';
import { bodyOf, keyParam, parseIfMatch, parseWith } from '../input.js';
import { decodeCursor, page, parseLimit } from '../pagination.js';
import { entityDocs as docs, SaveBody } from '../schemas/entities.js';

type SaveBody = z.infer<typeof SaveBody>;

/** SaveBody, without zod for the usual well-formed body (the same result); anything else goes through zod for its errors. */
function saveBody(data: unknown): SaveBody {
  if (isPlainObject(data)) {
    const { attributes, status } = data;
    if (
      Object.keys(data).every((k) => k === 'attributes' || k === 'status') &&
      (attributes === undefined || isPlainObject(attributes)) &&
      (status === undefined || (typeof status === 'string' && status.length <= 63))
    ) {
      return { attributes, status };
    }
  }
  return parseWith(SaveBody, data);
}

interface TypeParams { type: string }
interface EntityParams { type: string; id: string }

export function entityView(e: EntityRecord) {
  return { id: e.id, type: e.type, status: e.status, version: e.version, attributes: e.attributes, createdAt: e.createdAt, updatedAt: e.updatedAt };
}

function saveView(r: SaveResult) {
  const e = r.entity;
  return {
    id: e.id,
    type: e.type,
    status: e.status,
    version: e.version,
    attributes: e.attributes,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    requirements: requirementsView(r.requirements),
    statusPath: r.statusPath,
    queuedRuns: r.queuedRuns,
  };
}

function requirementsView(results: RequirementResult[]) {
  return results.map((r) => (r.error ? { key: r.key, passed: r.passed, message: r.message, enforce: r.enforce, error: r.error } : { key: r.key, passed: r.passed, message: r.message, enforce: r.enforce }));
}

function typeParam(raw: string): string {
  return keyParam(raw, 'ENTITY_TYPE_NOT_FOUND', 'entity type');
}

function idParam(type: string, raw: string): string {
  if (!looksLikeId(raw)) throw new AppError('ENTITY_NOT_FOUND', `No ${type} with id "${raw.slice(0, 100)}".`, { entityType: type });
  return raw;
}

function withEtag(reply: FastifyReply, version: number): FastifyReply {
  return reply.header('etag', `"${version}"`);
}

function statusesParam(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const values = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);
  return values.length > 0 ? values : undefined;
}

export function entityRoutes(app: FastifyInstance, services: Services): void {
  app.post<{ Params: TypeParams }>('/api/v1/entities/:type', { config: { permission: 'entities' }, schema: docs.create }, async (request, reply) => {
    const type = typeParam(request.params.type);
    const body = saveBody(bodyOf(request));
    const result = await saveEntity(services, callContext(request), type, { attributes: body.attributes ?? {}, status: body.status });
    return withEtag(reply.status(201), result.entity.version).send(saveView(result));
  });

  app.get<{ Params: TypeParams; Querystring: Record<string, unknown> }>('/api/v1/entities/:type', { config: { permission: 'read' }, schema: docs.list }, async (request) => {
    const type = typeParam(request.params.type);
    const q = request.query;
    const where = q.where === undefined || q.where === '' ? undefined : String(q.where);
    const result = await findEntities(services, callContext(request), type, {
      statuses: statusesParam(q.status),
      where,
      limit: parseLimit(q.limit),
      after: decodeCursor(q.cursor),
    });
    return page(result.items.map(entityView), result.nextId);
  });

  app.get<{ Params: EntityParams }>('/api/v1/entities/:type/:id', { config: { permission: 'read' }, schema: docs.get }, async (request, reply) => {
    const type = typeParam(request.params.type);
    const ctx = callContext(request);
    const loaded = await services.entityTypes.loadFresh(ctx.orgId, type);
    const entity = await readEntity(services, ctx, type, idParam(type, request.params.id));
    const requirements = await evaluateRequirements(services.evaluator, loaded, entity, ctx.orgId);
    return withEtag(reply, entity.version).send({ ...entityView(entity), requirements: requirementsView(requirements) });
  });

  app.patch<{ Params: EntityParams }>('/api/v1/entities/:type/:id', { config: { permission: 'entities' }, schema: docs.update }, async (request, reply) => {
    const type = typeParam(request.params.type);
    const id = idParam(type, request.params.id);
    const body = saveBody(bodyOf(request));
    const expectedVersion = parseIfMatch(request.headers['if-match']);
    const result = await saveEntity(services, callContext(request), type, { id, attributes: body.attributes ?? {}, status: body.status, expectedVersion });
    return withEtag(reply, result.entity.version).send(saveView(result));
  });

  app.delete<{ Params: EntityParams }>('/api/v1/entities/:type/:id', { config: { permission: 'entities' }, schema: docs.delete }, async (request, reply) => {
    const type = typeParam(request.params.type);
    await removeEntity(services, callContext(request), type, idParam(type, request.params.id));
    return reply.status(204).send();
  });

  app.get<{ Params: EntityParams; Querystring: Record<string, unknown> }>('/api/v1/entities/:type/:id/events', { config: { permission: 'read' }, schema: docs.events }, async (request) => {
    const type = typeParam(request.params.type);
    const result = await entityEvents(services, callContext(request), type, idParam(type, request.params.id), {
      limit: parseLimit(request.query.limit),
      after: decodeCursor(request.query.cursor),
    });
    return page(result.items, result.nextId);
  });
}
