/** /api/v1/batches… (API.md "Batches"): the processing control panel. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../domain/errors.js';
import { BATCH_ITEM_STATUSES, BatchRequestSchema, type BatchItemStatus } from '../../domain/batch.js';
import { looksLikeId } from '../../domain/ids.js';
import { isKey } from '../../domain/keys.js';
import { actOnBatch, batchItems, createBatch, findBatches, previewBatch, readBatch, type BatchAction } from '../../engine/batches/batches.js';
import { batchView } from '../../engine/batches/view.js';
import type { Services } from '../../engine/services.js';
import type { BatchItem } from '../../store/batch-items.js';
import { callContext } from '../auth.js';
import { bodyOf, parseWith } from '../input.js';
import { decodeCursor, page, parseLimit } from '../pagination.js';
import { batchDocs } from '../batch-schemas.js';

interface IdParams { id: string }
type Query = Record<string, unknown>;

const BATCH_STATUSES = ['running', 'paused', 'cancelled', 'completed'];

function badQuery(path: string, message: string): AppError {
  return new AppError('INVALID_QUERY', `${path}: ${message}`, { fields: [{ path, code: 'invalid', message }] });
}

/** `?status=a,b` checked against `allowed`. */
function statusList(raw: unknown, allowed: readonly string[]): string[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const values = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);
  const unknown = values.find((v) => !allowed.includes(v));
  if (unknown !== undefined) throw badQuery('status', `unknown status ${JSON.stringify(unknown.slice(0, 50))}; use ${allowed.join(', ')}`);
  return values.length > 0 ? values : undefined;
}

function batchId(raw: string): string {
  if (!looksLikeId(raw)) throw new AppError('BATCH_NOT_FOUND', `No batch with id "${raw.slice(0, 100)}".`);
  return raw;
}

function itemView(i: BatchItem) {
  return { entityId: i.entityId, runId: i.runId, status: i.status, error: i.error, attempts: i.attempts };
}

export function batchRoutes(app: FastifyInstance, services: Services): void {
  // A preview writes nothing: any role may look.
  app.post('/api/v1/batches/preview', { config: { permission: 'read' }, schema: batchDocs.preview }, async (request) => {
    const body = parseWith(BatchRequestSchema, bodyOf(request));
    const { total, sample } = await previewBatch(services, callContext(request), body);
    return { total, sample: sample.map((e) => ({ id: e.id, type: e.type, status: e.status, version: e.version, attributes: e.attributes, createdAt: e.createdAt, updatedAt: e.updatedAt })) };
  });

  app.post('/api/v1/batches', { config: { permission: 'entities' }, schema: batchDocs.create }, async (request, reply) => {
    const body = parseWith(BatchRequestSchema, bodyOf(request));
    return reply.status(201).send(batchView(await createBatch(services, callContext(request), body)));
  });

  app.get<{ Querystring: Query }>('/api/v1/batches', { config: { permission: 'read' }, schema: batchDocs.list }, async (request) => {
    const q = request.query;
    const before = decodeCursor(q.cursor);
    if (before !== undefined && !looksLikeId(before)) throw new AppError('INVALID_CURSOR');
    if (q.process !== undefined && q.process !== '' && (typeof q.process !== 'string' || !isKey(q.process))) throw badQuery('process', 'must be a process key');
    const result = await findBatches(services, callContext(request), {
      limit: parseLimit(q.limit),
      before,
      process: (q.process as string | undefined) || undefined,
      statuses: statusList(q.status, BATCH_STATUSES),
    });
    return page(result.items.map(batchView), result.nextId);
  });

  app.get<{ Params: IdParams }>('/api/v1/batches/:id', { config: { permission: 'read' }, schema: batchDocs.get }, async (request) => {
    return batchView(await readBatch(services, callContext(request), batchId(request.params.id)));
  });

  app.get<{ Params: IdParams; Querystring: Query }>('/api/v1/batches/:id/items', { config: { permission: 'read' }, schema: batchDocs.items }, async (request) => {
    const q = request.query;
    const cursor = decodeCursor(q.cursor);
    if (cursor !== undefined && !/^\d{1,9}$/.test(cursor)) throw new AppError('INVALID_CURSOR');
    const result = await batchItems(services, callContext(request), batchId(request.params.id), {
      statuses: statusList(q.status, BATCH_ITEM_STATUSES) as BatchItemStatus[] | undefined,
      afterSeq: cursor === undefined ? undefined : Number(cursor),
      limit: parseLimit(q.limit),
    });
    return page(result.items.map(itemView), result.nextSeq === null ? null : String(result.nextSeq));
  });

  const actions: Array<[BatchAction, keyof typeof batchDocs]> = [
    ['pause', 'pause'],
    ['resume', 'resume'],
    ['cancel', 'cancel'],
    ['retry-failed', 'retryFailed'],
  ];
  for (const [action, doc] of actions) {
    app.post<{ Params: IdParams }>(`/api/v1/batches/:id/${action}`, { config: { permission: 'entities' }, schema: batchDocs[doc] }, async (request, reply) => {
      const id = batchId(request.params.id);
      return reply.status(202).send(batchView(await actOnBatch(services, callContext(request), id, action)));
    });
  }
}
