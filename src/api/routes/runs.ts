/** /api/v1/runs…, /api/v1/entities/{type}/{id}/runs and …/process (API.md "Runs", "Ad hoc processing"). */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../domain/errors.js';
import { looksLikeId } from '../../domain/ids.js';
import { isKey } from '../../domain/keys.js';
import { withOrigin } from '../../domain/failure-codes.js';
import { triggerView } from '../../engine/executor/preview.js';
import { cancelRun, entityRuns, findRuns, processEntity, readRun, pinRun, retryRun, runSteps } from '../../engine/runs.js';
import type { Services } from '../../engine/services.js';
import type { Run, RunStatus, Step } from '../../store/runs.js';
import { RUN_STATUSES } from '../../store/processes.js';
import { callContext } from '../auth.js';
import { keyParam, parseWith } from '../input.js';
import { decodeCursor, page, parseLimit } from '../pagination.js';
import { ProcessBody, RetryBody, runDocs as docs } from '../schemas/runs.js';

export interface RunRouteOptions {
  /** Longest server-side wait of `POST …/process` with `wait: true` (default 30 s). */
  waitLimitMs?: number;
}

interface IdParams { id: string }
interface EntityParams { type: string; id: string }
type Query = Record<string, unknown>;

/** A run without its steps (lists). */
export function runSummary(r: Run) {
  return {
    id: r.id,
    process: r.process,
    processVersion: r.processVersion,
    entityId: r.entityId,
    entityType: r.entityType,
    status: r.status,
    trigger: triggerView(r.trigger),
    attempt: r.attempt,
    cancelRequested: r.cancelRequested,
    pinned: r.pinned,
    queuedAt: r.queuedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    error: r.error && withOrigin(r.error),
  };
}

/** A run with its steps (detail and the answers of retry, cancel and process). */
export function runDetail(r: { run: Run; steps: Step[] }) {
  return { ...runSummary(r.run), steps: r.steps.map(stepView) };
}

function stepView(s: Step) {
  const view = { task: s.task, status: s.status, attempts: s.attempts, input: s.input, output: s.output, error: s.error && withOrigin(s.error), startedAt: s.startedAt, finishedAt: s.finishedAt };
  return s.omitted ? { ...view, omitted: true } : view;
}

function badQuery(path: string, message: string): AppError {
  return new AppError('INVALID_QUERY', `${path}: ${message}`, { fields: [{ path, code: 'invalid', message }] });
}

/** A single-valued query parameter that must pass `valid`; undefined when absent. */
function single(q: Query, name: string, valid: (v: string) => boolean, what: string): string | undefined {
  const raw = q[name];
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !valid(raw)) throw badQuery(name, `must be ${what}`);
  return raw;
}

function statusesQuery(raw: unknown): RunStatus[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const values = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);
  const unknown = values.filter((v) => !(RUN_STATUSES as readonly string[]).includes(v));
  if (unknown.length > 0) throw badQuery('status', `unknown run status ${JSON.stringify(unknown[0]!.slice(0, 50))}; use ${RUN_STATUSES.join(', ')}`);
  return values.length > 0 ? (values as RunStatus[]) : undefined;
}

function cursorId(raw: unknown): string | undefined {
  const id = decodeCursor(raw);
  if (id !== undefined && !looksLikeId(id)) throw new AppError('INVALID_CURSOR');
  return id;
}

function runId(raw: string): string {
  if (!looksLikeId(raw)) throw new AppError('RUN_NOT_FOUND', `No run with id "${raw.slice(0, 100)}".`);
  return raw;
}

function entityParams(p: EntityParams): { type: string; id: string } {
  const type = keyParam(p.type, 'ENTITY_TYPE_NOT_FOUND', 'entity type');
  if (!looksLikeId(p.id)) throw new AppError('ENTITY_NOT_FOUND', `No ${type} with id "${p.id.slice(0, 100)}".`, { entityType: type });
  return { type, id: p.id };
}

export function runRoutes(app: FastifyInstance, services: Services, options: RunRouteOptions = {}): void {
  const waitLimitMs = options.waitLimitMs ?? 30_000;
  // Waiting requests give up (answering 202) when the server closes, so closing never waits for them.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());

  app.get<{ Querystring: Query }>('/api/v1/runs', { config: { permission: 'read' }, schema: docs.list }, async (request) => {
    const q = request.query;
    const result = await findRuns(services, callContext(request), {
      process: single(q, 'process', isKey, 'a process key'),
      entityId: single(q, 'entity', looksLikeId, 'an entity id'),
      statuses: statusesQuery(q.status),
      batchId: single(q, 'batch', looksLikeId, 'a batch id'),
      limit: parseLimit(q.limit),
      before: cursorId(q.cursor),
    });
    return page(result.items.map(runSummary), result.nextId);
  });

  app.get<{ Params: IdParams }>('/api/v1/runs/:id', { config: { permission: 'read' }, schema: docs.get }, async (request) => {
    return runDetail(await readRun(services, callContext(request), runId(request.params.id)));
  });

  app.get<{ Params: IdParams; Querystring: Query }>('/api/v1/runs/:id/steps', { config: { permission: 'read' }, schema: docs.steps }, async (request) => {
    const cursor = decodeCursor(request.query.cursor);
    if (cursor !== undefined && !/^\d{1,4}$/.test(cursor)) throw new AppError('INVALID_CURSOR');
    const from = { afterIdx: cursor === undefined ? undefined : Number(cursor), limit: parseLimit(request.query.limit) };
    const result = await runSteps(services, callContext(request), runId(request.params.id), from);
    return page(result.items.map(stepView), result.nextId);
  });

  app.post<{ Params: IdParams }>('/api/v1/runs/:id/retry', { config: { permission: 'entities' }, schema: docs.retry }, async (request, reply) => {
    const id = runId(request.params.id);
    const body = parseWith(RetryBody, request.body ?? {});
    return reply.status(202).send(runDetail(await retryRun(services, callContext(request), id, body.from)));
  });

  app.post<{ Params: IdParams }>('/api/v1/runs/:id/cancel', { config: { permission: 'entities' }, schema: docs.cancel }, async (request, reply) => {
    const id = runId(request.params.id);
    return reply.status(202).send(runDetail(await cancelRun(services, callContext(request), id)));
  });

  // Pinned runs are kept by retention whatever their age (same role as retry and cancel).
  for (const [action, pinned] of [['pin', true], ['unpin', false]] as const) {
    app.post<{ Params: IdParams }>(`/api/v1/runs/:id/${action}`, { config: { permission: 'entities' }, schema: pinned ? docs.pin : docs.unpin }, async (request) => {
      return runDetail(await pinRun(services, callContext(request), runId(request.params.id), pinned));
    });
  }

  app.get<{ Params: EntityParams; Querystring: Query }>('/api/v1/entities/:type/:id/runs', { config: { permission: 'read' }, schema: docs.entityRuns }, async (request) => {
    const { type, id } = entityParams(request.params);
    const result = await entityRuns(services, callContext(request), type, id, { limit: parseLimit(request.query.limit), before: cursorId(request.query.cursor) });
    return page(result.items.map(runSummary), result.nextId);
  });

  app.post<{ Params: EntityParams }>('/api/v1/entities/:type/:id/process', { config: { permission: 'entities' }, schema: docs.process }, async (request, reply) => {
    const { type, id } = entityParams(request.params);
    const body = parseWith(ProcessBody, request.body ?? {});
    // Stop waiting when the client goes away or the server closes.
    const gone = new AbortController();
    const onClose = () => gone.abort();
    reply.raw.once('close', onClose);
    try {
      const signal = AbortSignal.any([gone.signal, closing.signal]);
      const result = await processEntity(services, callContext(request), type, id, body, { waitMs: waitLimitMs, signal });
      if (result.kind === 'dry_run') return reply.status(200).send({ run: result.run });
      return reply.status(result.finished ? 200 : 202).send({ run: runDetail(result) });
    } finally {
      reply.raw.off('close', onClose);
    }
  });
}
