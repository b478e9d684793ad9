/**
 * The save pipeline (DESIGN.md "The save pipeline"): validate → requirements → refuse on enforced
 * failures → requested transition → auto transitions → write entity + event in one transaction.
 *
 * Requirements are evaluated (in the expression worker) before the write transaction opens, so no
 * transaction waits on expression evaluation. The write is conditional on the entity version and the
 * entity type version read before; if either moved, the pipeline runs again on fresh data (or answers
 * 409 when the client pinned a version with If-Match).
 */
import { applyAttributePatch } from '../domain/attributes.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { enforcedFailures, resolveStatusPath, type RequirementResult } from '../domain/transitions.js';
import { findEventByCause, getEntity, type EntityEvent, type EntityRecord } from '../store/entities.js';
import { listRunsQueuedByEvent } from '../store/runs.js';
import { writeSave } from '../store/saves.js';
import { findEntity } from './entities.js';
import { runPlanner, type SaveCause } from './run-queue.js';
import type { LoadedEntityType } from './entity-type-cache.js';
import { evaluateRequirements } from './requirements.js';
import type { CallContext, Services } from './services.js';
import { entitySaved, runUpdated } from './bus-events.js';

export interface SaveRequest {
  /** Absent on create. */
  id?: string;
  attributes?: unknown;
  status?: string;
  /** Version the client last saw (If-Match); a different stored version → 409. */
  expectedVersion?: number;
  /** Set when a process task makes the save (loop protection, and the save happens once per step). */
  cause?: SaveCause;
}

export interface SaveResult {
  entity: EntityRecord;
  requirements: RequirementResult[];
  /** Statuses this save went through: first = status before the save (on create: the initial status). */
  statusPath: string[];
  queuedRuns: Array<{ id: string; process: string }>;
  created: boolean;
}

const MAX_ATTEMPTS = 10;

class Retry extends Error {}

/** Creates (no `id`) or updates an entity. Throws AppError for every refusal; writes nothing then. */
export async function saveEntity(services: Services, ctx: CallContext, typeKey: string, req: SaveRequest): Promise<SaveResult> {
  if (req.id === undefined) return saveWithRetries(services, ctx, typeKey, req);
  return services.entityLocks.run(req.id, () => saveWithRetries(services, ctx, typeKey, req));
}

async function saveWithRetries(services: Services, ctx: CallContext, typeKey: string, req: SaveRequest): Promise<SaveResult> {
  for (let attempt = 1; ; attempt++) {
    if (req.cause) {
      const replay = await replayedSave(services, ctx, typeKey, req.cause.key);
      if (replay) return replay;
    }
    const type = await services.entityTypes.load(ctx.orgId, typeKey);
    try {
      return await saveOnce(services, ctx, type, req);
    } catch (err) {
      if (!(err instanceof Retry)) throw err;
      services.entityTypes.forget(ctx.orgId, typeKey);
      if (attempt >= MAX_ATTEMPTS) {
        throw new AppError('VERSION_CONFLICT', 'The entity kept changing during the save; retry.');
      }
      // Another process saved the same entity: back off a little, with jitter, before re-reading.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

async function saveOnce(services: Services, ctx: CallContext, type: LoadedEntityType, req: SaveRequest): Promise<SaveResult> {
  const current = req.id === undefined ? undefined : await findEntity(services, ctx.orgId, type.key, req.id);
  if (req.id !== undefined && !current) {
    throw new AppError('ENTITY_NOT_FOUND', `No ${type.key} with id "${req.id}".`, { entityType: type.key, id: req.id });
  }
  if (current && req.expectedVersion !== undefined && current.version !== req.expectedVersion) {
    throw versionConflict(current.version, req.expectedVersion);
  }
  const def = type.definition;
  if (req.status !== undefined && !def.statuses.some((s) => s.key === req.status)) {
    throw new AppError('STATUS_UNKNOWN', `"${req.status}" is not a status of ${type.key}.`, {
      status: req.status,
      allowed: def.statuses.map((s) => s.key),
    });
  }
  const { attributes, changed } = applyAttributePatch(def, current?.attributes, req.attributes ?? {}, current ? 'update' : 'create');

  const id = current?.id ?? newId();
  const requirements = await evaluateRequirements(services.evaluator, type, { id, type: type.key, status: current?.status, attributes }, ctx.orgId);
  const refused = enforcedFailures(requirements);
  if (refused.length > 0) {
    throw new AppError('ENTITY_REQUIREMENTS_FAILED', `The save was refused: ${refused.map((r) => r.message).join('; ')}`, {
      requirements: refused,
    });
  }
  const path = resolveStatusPath(def, current?.status, requirements, req.status);
  const status = path[path.length - 1]!;

  const now = new Date().toISOString();
  const entity: EntityRecord = {
    id,
    orgId: ctx.orgId,
    type: type.key,
    status,
    attributes,
    version: (current?.version ?? 0) + 1,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
  const changes: EntityEvent['changes'] = {};
  for (const key of changed) changes[key] = { from: current?.attributes[key], to: attributes[key] };
  const event: EntityEvent = {
    id: newId(),
    entityId: id,
    entityType: type.key,
    entityVersion: entity.version,
    kind: current ? 'updated' : 'created',
    statusBefore: current?.status ?? null,
    statusAfter: status,
    statusPath: path,
    changes,
    actor: { ...ctx.actor },
    createdAt: now,
  };

  const entered = current ? path.slice(1) : path;
  const outcome = await writeSave(
    services.database,
    { orgId: ctx.orgId, typeVersion: type.version, entity, expectedVersion: current?.version, event, causeKey: req.cause?.key ?? null, entered },
    runPlanner(services, { orgId: ctx.orgId, entityType: type.key, entityId: id, eventId: event.id, entered, actor: `${ctx.actor.type}:${ctx.actor.id}`, cause: req.cause }),
  );
  // The type moved, the entity moved or the same process step saved meanwhile: save again on fresh data (or 409).
  if (outcome.kind === 'type_moved' || outcome.kind === 'cause_repeated') throw new Retry();
  if (outcome.kind === 'entity_moved') throw req.expectedVersion !== undefined ? versionConflict(undefined, req.expectedVersion) : new Retry();
  const queuedRuns = outcome.queued;
  if (queuedRuns.length > 0) {
    services.bus.runsQueued();
    for (const r of queuedRuns) {
      services.bus.publish(runUpdated({ id: r.id, orgId: ctx.orgId, process: r.process, entityId: id, entityType: type.key }, 'queued'));
    }
  }
  services.bus.publish(entitySaved(ctx.orgId, { id, type: type.key, status, version: entity.version, statusPath: path }));

  return { entity, requirements, statusPath: path, queuedRuns, created: !current };
}

/** A process step's save that already happened: its result, rebuilt from the event and the entity. */
async function replayedSave(services: Services, ctx: CallContext, typeKey: string, causeKey: string): Promise<SaveResult | undefined> {
  const { db } = services.database;
  const event = await findEventByCause(db, ctx.orgId, causeKey);
  if (!event) return undefined;
  const entity = await getEntity(db, ctx.orgId, typeKey, event.entityId);
  if (!entity) return undefined;
  const queuedRuns = await listRunsQueuedByEvent(db, ctx.orgId, event.id);
  return { entity, requirements: [], statusPath: event.statusPath, queuedRuns, created: event.kind === 'created' };
}

function versionConflict(actual: number | undefined, expected: number): AppError {
  return new AppError('VERSION_CONFLICT', `The entity is no longer at version ${expected}.`, {
    expectedVersion: expected,
    ...(actual === undefined ? {} : { currentVersion: actual }),
  });
}
