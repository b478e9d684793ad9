/**
 * `POST /apply` (API.md "Definitions as code"): a planned document (plan.ts) written in one
 * transaction, in dependency order — types, connections, processes, then with prune the deletions in
 * reverse order (processes, connections, types) — so it is applied all or nothing on both databases.
 * A dry run takes exactly the same path and rolls back: its report, refusals included, is what the
 * real apply would do at that moment.
 */
import type { Transaction } from 'kysely';
import { AppError, type FieldIssue } from '../../domain/errors.js';
import type { EntityTypeDefinition } from '../../domain/entity-type.js';
import type { ProcessDefinition } from '../../domain/process.js';
import { getEntityTypeVersion, putEntityType, deleteEntityType } from '../../store/entity-types.js';
import { deleteConnection as deleteStoredConnection } from '../../store/connections.js';
import { countUnfinishedRuns, unfinishedRunVersions } from '../../store/definitions.js';
import { hasEntitiesOfType } from '../../store/entities.js';
import { deleteProcess as deleteStoredProcess, processesOfEntityType, processesUsing, putProcess as putStoredProcess } from '../../store/processes.js';
import type { Tables } from '../../store/schema.js';
import { writeConnectionIn } from '../connections.js';
import { checkTriggerStatusesKept } from '../entity-types.js';
import { checkConnectionsStillThere } from '../processes.js';
import type { CallContext, Services } from '../services.js';
import { objectDiff } from './diff.js';
import { documentInvalid, exportConnection, exportEntityType, exportProcess, issuesOf, type DocumentItem, type ObjectRef } from './document.js';
import { planApply, type Plan } from './plan.js';

export interface ApplyOptions {
  /** Report (with diffs) and roll back. */
  dryRun: boolean;
  /** Also delete the stored objects the document does not have. */
  prune: boolean;
  /** Whether the caller may create, change or delete connections (admin keys, as `PUT /connections`). */
  mayWriteConnections: boolean;
}

export interface ObjectDiff extends ObjectRef {
  change: 'created' | 'updated' | 'deleted';
  diff: string;
}

export interface ApplyReport {
  dryRun: boolean;
  created: ObjectRef[];
  updated: ObjectRef[];
  unchanged: ObjectRef[];
  /** With prune: what was deleted. */
  deleted: ObjectRef[];
  /** The parsers' warnings (e.g. an unknown attribute in an expression); nothing was refused for them. */
  warnings: FieldIssue[];
  /** Dry run only: each change as a unified diff of the object's YAML. */
  diffs?: ObjectDiff[];
}

/** Thrown inside the transaction to roll a dry run back. */
class DryRunRollback extends Error {}

/** One object's refusal to be pruned. */
interface Refusal extends ObjectRef {
  reason: string;
  [extra: string]: unknown;
}

export async function applyDefinitions(services: Services, ctx: CallContext, body: unknown, options: ApplyOptions): Promise<ApplyReport> {
  const plan = await planApply(services, ctx, body, options.prune);
  const report = reportOf(plan, options.dryRun);
  if (!options.mayWriteConnections && !options.dryRun) {
    const touched = [...report.created, ...report.updated, ...report.deleted].find((o) => o.kind === 'connection');
    if (touched) {
      throw new AppError('FORBIDDEN', `Only admin keys may create, change or delete connections (connection "${touched.key}" would change); nothing was applied.`, {
        allowed: ['admin'],
        connection: touched.key,
      });
    }
  }
  try {
    await services.database.db.transaction().execute(async (trx) => {
      await write(trx, services, ctx.orgId, plan);
      if (options.dryRun) throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  }
  if (options.dryRun) return { ...report, diffs: diffsOf(plan) };
  for (const t of [...plan.types.filter((p) => p.change !== 'unchanged').map((p) => p.item.key), ...plan.prune.types.map((t) => t.key)]) services.entityTypes.forget(ctx.orgId, t);
  for (const c of plan.connections.filter((p) => p.change !== 'unchanged')) services.connections.forget(ctx.orgId, c.item.key);
  for (const c of plan.prune.connections) {
    services.connections.forget(ctx.orgId, c.key);
    await services.rateLimiter.forget(ctx.orgId, c.key);
  }
  return report;
}

function reportOf(plan: Plan, dryRun: boolean): ApplyReport {
  const report: ApplyReport = { dryRun, created: [], updated: [], unchanged: [], deleted: [], warnings: plan.warnings };
  for (const p of [...plan.types, ...plan.connections, ...plan.processes]) report[p.change].push({ kind: p.item.kind, key: p.item.key });
  report.deleted.push(
    ...plan.prune.processes.map((p) => ({ kind: 'process' as const, key: p.key })),
    ...plan.prune.connections.map((c) => ({ kind: 'connection' as const, key: c.key })),
    ...plan.prune.types.map((t) => ({ kind: 'entityType' as const, key: t.key })),
  );
  return report;
}

/** Runs `fn` for one object; its AppError comes back naming the object (and, for field problems, its place in the document). */
async function about<T>(item: DocumentItem, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    if (err.status === 400) throw documentInvalid(issuesOf(err, item));
    throw new AppError(err.code, `Nothing was applied. ${item.at} (${item.kind} "${item.key}"): ${err.message}`, { ...(err.details as object), kind: item.kind, key: item.key });
  }
}

async function write(trx: Transaction<Tables>, services: Services, orgId: string, plan: Plan): Promise<void> {
  const now = new Date().toISOString();
  for (const p of plan.types) {
    if (p.change !== 'unchanged') await about(p.item, () => putEntityType(trx, orgId, p.item.key, p.text, now));
  }
  for (const c of plan.connections) {
    if (c.change !== 'unchanged') await about(c.item, () => writeConnectionIn(trx, services, orgId, c.item.key, c.parsed));
  }
  for (const p of plan.processes) {
    if (p.change === 'unchanged') continue;
    await about(p.item, async () => {
      if (p.storedTypeVersion !== undefined) {
        // Checked against a stored type the file does not have: it must not have changed since (Postgres: share-locked until commit).
        const version = await getEntityTypeVersion(trx, orgId, p.definition.entityType, 'share');
        if (version !== p.storedTypeVersion) {
          throw new AppError('ENTITY_TYPE_CHANGED', `Entity type "${p.definition.entityType}" changed while the document was being applied; retry.`, { entityType: p.definition.entityType });
        }
      }
      await checkConnectionsStillThere(trx, orgId, p.definition);
      await putStoredProcess(trx, orgId, p.item.key, p.definition, now);
    });
  }
  const refusals: Refusal[] = [];
  for (const p of plan.prune.processes) {
    const runs = await countUnfinishedRuns(trx, orgId, p.key);
    if (runs > 0) refusals.push({ kind: 'process', key: p.key, reason: `${runs} of its runs have not finished (queued, running or waiting); let them finish or cancel them, or keep the process in the file`, runs });
    else await deleteStoredProcess(trx, orgId, p.key);
  }
  // A changed type must keep the statuses that start processes (checked now that the processes are written).
  for (const p of plan.types) if (p.change === 'updated') await about(p.item, () => checkTriggerStatusesKept(trx, orgId, p.item.key, p.definition));
  if (plan.prune.connections.length > 0) {
    const pinned = await connectionsOfUnfinishedRuns(trx, services, orgId);
    for (const c of plan.prune.connections) {
      const processes = await processesUsing(trx, orgId, c.key);
      const runs = pinned.get(c.key) ?? 0;
      if (processes.length > 0) refusals.push({ kind: 'connection', key: c.key, reason: `used by process ${processes.map((k) => `"${k}"`).join(', ')}`, processes });
      else if (runs > 0) refusals.push({ kind: 'connection', key: c.key, reason: `${runs} unfinished runs still use it; let them finish or cancel them, or keep the connection in the file`, runs });
      else await deleteStoredConnection(trx, orgId, c.key);
    }
  }
  for (const { key } of plan.prune.types) {
    await getEntityTypeVersion(trx, orgId, key, 'update');
    const processes = await processesOfEntityType(trx, orgId, key);
    if (await hasEntitiesOfType(trx, orgId, key)) refusals.push({ kind: 'entityType', key, reason: 'entities of this type exist; delete them first, or keep the type in the file' });
    else if (processes.length > 0) refusals.push({ kind: 'entityType', key, reason: `used by process ${processes.map((k) => `"${k}"`).join(', ')}`, processes });
    else await deleteEntityType(trx, orgId, key);
  }
  if (refusals.length > 0) {
    const first = refusals[0]!;
    const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more)` : '';
    throw new AppError('PRUNE_REFUSED', `Nothing was applied. Cannot prune ${first.kind} "${first.key}": ${first.reason}${more}.`, { objects: refusals });
  }
}

/** Connections that unfinished runs may still call (through the process version each is pinned to), with their number of runs. */
async function connectionsOfUnfinishedRuns(trx: Transaction<Tables>, services: Services, orgId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { process, version, runs } of await unfinishedRunVersions(trx, orgId)) {
    const definition: ProcessDefinition | undefined = await services.processVersions.load(orgId, process, version, trx);
    for (const key of new Set(definition?.tasks.map((t) => t.connection).filter((k): k is string => k !== undefined))) out.set(key, (out.get(key) ?? 0) + runs);
  }
  return out;
}

function diffsOf(plan: Plan): ObjectDiff[] {
  const out: ObjectDiff[] = [];
  const add = (kind: ObjectRef['kind'], key: string, change: ObjectDiff['change'], before: unknown, after: unknown) =>
    out.push({ kind, key, change, diff: objectDiff(`${kind}/${key}`, before, after) });
  for (const p of plan.types) {
    if (p.change !== 'unchanged') add('entityType', p.item.key, p.change, p.before && exportEntityType(p.item.key, p.before), exportEntityType(p.item.key, p.definition));
  }
  for (const c of plan.connections) {
    if (c.change === 'unchanged') continue;
    const { parsed, before } = c;
    const names = parsed.secrets ? Object.keys(parsed.secrets).sort() : (before?.secretNames ?? []);
    const after = exportConnection({ key: c.item.key, provider: parsed.provider.name, name: parsed.name ?? before?.name ?? c.item.key, config: parsed.config, secretNames: names });
    // Secret values never appear: a changed one shows as "(new value)".
    if (c.secretsChanged && before) for (const n of names) (after.secrets as Record<string, string>)[n] = '(new value)';
    add('connection', c.item.key, c.change, before && exportConnection(before), after);
  }
  for (const p of plan.processes) {
    if (p.change !== 'unchanged') add('process', p.item.key, p.change, p.before && exportProcess(p.item.key, p.before), exportProcess(p.item.key, p.definition));
  }
  for (const p of plan.prune.processes) add('process', p.key, 'deleted', exportProcess(p.key, p.definition), undefined);
  for (const c of plan.prune.connections) add('connection', c.key, 'deleted', exportConnection(c), undefined);
  for (const t of plan.prune.types) add('entityType', t.key, 'deleted', exportEntityType(t.key, JSON.parse(t.definition) as EntityTypeDefinition), undefined);
  return out;
}
