/**
 * The save pipeline (DESIGN.md "The save pipeline"): validate → requirements → refuse on enforced
 * failures → requested transition → auto transitions → write entity + event in one transaction.
 *
 * Requirements are evaluated (in the expression worker) before the write transaction opens, so no
 * transaction waits on expression evaluation. The write is conditional on the entity version and the
 * entity type version read before; if either moved, the pipeline runs again on fresh data (or answers
 * 409 when the client pinned a version with If-Match).
 */
import type { Kysely } from 'kysely';
import { applyAttributePatch } from '../domain/attributes.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { enforcedFailures, resolveStatusPath, type RequirementResult } from '../domain/transitions.js';
import { getEntityTypeVersionSync } from '../store/entity-types.js';
import {
  findEventByCause,
  getEntity,
  insertEntitySync,
  insertEventSync,
  isCauseKeyViolation,
  isUniqueViolation,
  updateEntitySync,
  writeEntityAndEvent,
  type SaveWriteOutcome,
  type EntityEvent,
  type EntityRecord,
} from '../store/entities.js';
import { listRunsQueuedByEvent } from '../store/runs.js';
import type { Tables } from '../store/schema.js';
import type { SqlSync } from '../store/sqlite-writer.js';
import { findEntity } from './entities.js';
import { queueTriggeredRuns, queueTriggeredRunsSync, type SaveCause, type TriggeringSave } from './run-queue.js';
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
  const { db } = services.database;
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

  const write: SaveWrite = { orgId: ctx.orgId, type, current, entity, event, entered: current ? path.slice(1) : path, req, actor: `${ctx.actor.type}:${ctx.actor.id}` };
  const sqlite = services.database.sqlite;
  const queuedRuns = sqlite
    ? await sqlite.write((s) => writeSaveSqlite(s, services, write))
    : await writeSavePostgres(db, services, write);
  if (queuedRuns.length > 0) {
    services.bus.runsQueued();
    for (const r of queuedRuns) {
      services.bus.publish(runUpdated({ id: r.id, orgId: ctx.orgId, process: r.process, entityId: id, entityType: type.key }, 'queued'));
    }
  }
  services.bus.publish(entitySaved(ctx.orgId, { id, type: type.key, status, version: entity.version, statusPath: path }));

  return { entity, requirements, statusPath: path, queuedRuns, created: !current };
}

/** What the write transaction of a save needs. */
interface SaveWrite {
  orgId: string;
  type: LoadedEntityType;
  current: EntityRecord | undefined;
  entity: EntityRecord;
  event: EntityEvent;
  entered: string[];
  req: SaveRequest;
  actor: string;
}

/**
 * The write: conditional on the type version read before and (on update) the entity version, then the
 * event and the runs the entered statuses trigger. Postgres share-locks the type row so a concurrent
 * replace/delete of the type waits for this save; the entity, the event and the triggered processes
 * take one statement, the runs a second.
 */
async function writeSavePostgres(db: Kysely<Tables>, services: Services, w: SaveWrite): Promise<Array<{ id: string; process: string }>> {
  // One statement outside a transaction when no process is expected to start (none can without a
  // status entered): it writes only if that holds, else the save is made again in a transaction.
  const hintKey = `${w.orgId}\u0000${w.type.key}`;
  if (w.entered.length === 0 || !triggersProcesses.has(hintKey)) {
    const alone = await writeEntityPostgres(db, w, true);
    if (alone === 'written') {
      // Only a save that entered a status tells whether the type's saves start processes.
      if (w.entered.length > 0) triggersProcesses.delete(hintKey);
      return [];
    }
    rememberTriggering(hintKey);
  }
  return db.transaction().execute(async (trx) => {
    const triggered = await writeEntityPostgres(trx, w, false);
    if (triggered === 'written' || triggered.length === 0) {
      triggersProcesses.delete(hintKey);
      return [];
    }
    return queueTriggeredRuns(trx, services, triggering(w), triggered);
  });
}

/**
 * Entity types whose last save on Postgres started a process (keys `org\0type`): their next save opens a
 * transaction at once instead of trying the single statement first. Only a hint; bounded.
 */
const triggersProcesses = new Set<string>();
function rememberTriggering(key: string): void {
  if (triggersProcesses.size >= 10_000) triggersProcesses.clear();
  triggersProcesses.add(key);
}

/**
 * The entity and its event. `alone` (no transaction): 'written' if it wrote, else the processes that
 * kept it from writing. In a transaction: the processes the entered statuses trigger.
 */
async function writeEntityPostgres(db: Kysely<Tables>, w: SaveWrite, alone: boolean): Promise<'written' | Array<{ key: string; version: number; triggerStatus: string }>> {
  let outcome: SaveWriteOutcome;
  try {
    outcome = await writeEntityAndEvent(db, {
      orgId: w.orgId,
      typeVersion: w.type.version,
      entity: w.entity,
      expectedVersion: w.current?.version,
      event: w.event,
      causeKey: w.req.cause?.key ?? null,
      entered: w.entered,
      alone,
    });
  } catch (err) {
    throw w.req.cause && isCauseKeyViolation(err) ? new Retry() : err;
  }
  if (outcome.typeVersion !== w.type.version) throw new Retry();
  if (alone && !outcome.written && outcome.triggered.length > 0) return outcome.triggered;
  if (!outcome.written) throw lostRace(w.req);
  return alone ? 'written' : outcome.triggered;
}

/** The same write on SQLite: plain statements inside a SqliteWriter group (the single writer needs no lock). */
function writeSaveSqlite(s: SqlSync, services: Services, w: SaveWrite): Array<{ id: string; process: string }> {
  if (getEntityTypeVersionSync(s, w.orgId, w.type.key) !== w.type.version) throw new Retry();
  if (w.current) {
    if (!updateEntitySync(s, w.entity, w.current.version)) throw lostRace(w.req);
  } else {
    insertEntitySync(s, w.entity);
  }
  try {
    insertEventSync(s, w.orgId, w.event, w.req.cause?.key ?? null);
  } catch (err) {
    throw eventConflict(w.req, err);
  }
  return queueTriggeredRunsSync(s, services, triggering(w));
}

function triggering(w: SaveWrite): TriggeringSave {
  return { orgId: w.orgId, entityType: w.type.key, entityId: w.entity.id, eventId: w.event.id, entered: w.entered, actor: w.actor, cause: w.req.cause };
}

/** The entity moved since it was read: 409 when the client pinned a version, else save again. */
function lostRace(req: SaveRequest): Error {
  return req.expectedVersion !== undefined ? versionConflict(undefined, req.expectedVersion) : new Retry();
}

/** The same process step saved meanwhile (a step repeated after a lost lease): replay that save. */
function eventConflict(req: SaveRequest, err: unknown): unknown {
  return req.cause && isUniqueViolation(err) ? new Retry() : err;
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
