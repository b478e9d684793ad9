/**
 * `hubspot.upsert` as a batchable task kind (docs/provider-batching.md): steps of one organization, connection and
 * object that are ready together go out in HubSpot batch calls of up to 100, with the same choices and the same
 * guarantees as one step alone (upsert.ts):
 *   - a linked record → `batch/update` by its id (safe to repeat). Records HubSpot no longer has (deleted meanwhile)
 *     go on with an upsert by the unique property, as a lone step's PATCH 404 does;
 *   - no link → `batch/upsert` by the unique property holding the entity id (or the contact's email): a repeat
 *     after a lost answer updates the record the first call created, so no duplicate.
 * Steps with a unique value share a call whether linked or not: their links are read in `runMany`, one query for
 * the call, and the call makes a batch update for the linked and a batch upsert for the others. Steps without a
 * unique property or value go by their link, read in `plan`, or fail there exactly as they would alone. Two steps
 * with the same record or unique value never share a request (HubSpot refuses duplicate ids in one batch).
 */
import type { BatchOutcome, TaskBatching } from '../types.js';
import type { HubSpotObject } from './client.js';
import { batchCall, HUBSPOT_BATCH_MAX, type Settled } from './batch-call.js';
import { keep, normalizedValue, prepareUpsert, uniqueKey, type HubSpotUpsertInput, type PreparedUpsert } from './upsert-plan.js';
import { TaskFailure } from '../../domain/failure.js';

/** One step in a grouped call. */
interface UpsertItem {
  prepared: PreparedUpsert;
  /** The linked record's id (batch update), when plan read the link; otherwise runMany reads it. */
  linkedId?: string;
  /** The unique property and value (batch upsert); undefined when there is none (only a linked record can go). */
  unique?: { idProperty: string; id: string };
}

interface Written {
  id: string;
  created: boolean;
}

export const hubspotUpsertBatching: TaskBatching<HubSpotUpsertInput> = {
  maxSize: HUBSPOT_BATCH_MAX,
  async plan(input, ctx) {
    const prepared = prepareUpsert(input, ctx);
    const { cc, object } = prepared;
    const group = `${ctx.orgId}\u0000${cc.connection.key}\u0000${object}`;
    const unique = uniqueOf(prepared);
    // The usual step: its link is read in runMany with the others of its call (one query per call rather than one
    // wait per step before it may join); linked records then go by id, the others by the unique value.
    if ('ok' in unique) {
      const { idProperty, id } = unique.ok;
      return { key: `${group}\u0000by\u0000${idProperty}`, identity: normalizedValue(idProperty, id), item: { prepared, unique: unique.ok } satisfies UpsertItem };
    }
    // No unique value: only a linked record can go (by id); without a link the step fails here as it would alone.
    const link = await cc.links.get(object);
    if (!link) throw unique.err;
    return { key: `${group}\u0000update`, identity: link.externalId, item: { prepared, linkedId: link.externalId } satisfies UpsertItem };
  },
  async runMany(members, signal) {
    const items = await withLinks(members.map((m) => m.item as UpsertItem));
    const { cc, object } = items[0]!.prepared;
    const written: Settled<Written>[] = new Array(items.length);
    const linked = items.flatMap((item, i) => (item.linkedId !== undefined ? [i] : []));
    const upserts = items.flatMap((item, i) => (item.linkedId === undefined ? [i] : []));
    // HubSpot refuses one id twice in a call (two entities linked to one record): such repeats go in a later call.
    for (const round of rounds(linked, (i) => items[i]!.linkedId!)) {
      const got = await updateMany(round.map((i) => items[i]!), signal);
      round.forEach((i, k) => (written[i] = got[k]!));
    }
    // Linked records HubSpot no longer has: upsert them by the unique property, as a lone step does.
    for (const i of linked) {
      const w = written[i]!;
      if (!('err' in w) || code(w.err) !== 'HUBSPOT_OBJECT_NOT_FOUND') continue;
      if (items[i]!.unique) upserts.push(i);
      else written[i] = uniqueOf(items[i]!.prepared) as { err: unknown };
    }
    for (const idProperty of new Set(upserts.map((i) => items[i]!.unique!.idProperty))) {
      const these = upserts.filter((i) => items[i]!.unique!.idProperty === idProperty);
      const got = await upsertMany(object, these.map((i) => items[i]!), signal, cc);
      these.forEach((i, k) => (written[i] = got[k]!));
    }
    return Promise.all(written.map((w, i) => outcome(items[i]!, w)));
  },
};

/** The items with the links plan left to read, read together (the engine's link reads of one turn are one query). */
async function withLinks(items: UpsertItem[]): Promise<UpsertItem[]> {
  return Promise.all(
    items.map(async (item) => {
      if (item.linkedId !== undefined) return item;
      const link = await item.prepared.cc.links.get(item.prepared.object);
      return link ? { ...item, linkedId: link.externalId } : item;
    }),
  );
}

/** `indices` in calls of distinct keys, in order: the first of each key in the first call, repeats later. */
function rounds(indices: number[], key: (i: number) => string): number[][] {
  const out: number[][] = [];
  const seen: Array<Set<string>> = [];
  for (const i of indices) {
    const k = key(i);
    let r = seen.findIndex((s) => !s.has(k));
    if (r < 0) {
      r = out.length;
      out.push([]);
      seen.push(new Set());
    }
    out[r]!.push(i);
    seen[r]!.add(k);
  }
  return out;
}

/** The step's unique property and value, or the failure a lone step gets for lacking them. */
function uniqueOf(p: PreparedUpsert): Settled<{ idProperty: string; id: string }> {
  try {
    return { ok: uniqueKey(p) };
  } catch (err) {
    return { err };
  }
}

async function outcome(item: UpsertItem, w: Settled<Written>): Promise<BatchOutcome> {
  if ('err' in w) return { ok: false, error: w.err };
  const { cc, config, object } = item.prepared;
  try {
    return { ok: true, output: await keep(cc, config, object, w.ok.id, w.ok.created) };
  } catch (error) {
    return { ok: false, error };
  }
}

function updateMany(items: UpsertItem[], signal: AbortSignal): Promise<Settled<Written>[]> {
  const { cc, object } = items[0]!.prepared;
  return batchCall<UpsertItem, Written>(
    cc,
    {
      path: `/crm/v3/objects/${object}/batch/update`,
      input: (i) => ({ id: i.linkedId, properties: i.prepared.properties }),
      itemKey: (i) => i.linkedId!,
      resultKey: (r) => (typeof r.id === 'string' ? r.id : undefined),
      read: (r) => (typeof r.id === 'string' && r.id !== '' ? { id: r.id, created: false } : undefined),
    },
    items,
    signal,
  );
}

function upsertMany(object: HubSpotObject, items: UpsertItem[], signal: AbortSignal, cc = items[0]!.prepared.cc): Promise<Settled<Written>[]> {
  const idProperty = items[0]!.unique!.idProperty;
  return batchCall<UpsertItem, Written>(
    cc,
    {
      path: `/crm/v3/objects/${object}/batch/upsert`,
      input: (i) => ({ idProperty: i.unique!.idProperty, id: i.unique!.id, properties: i.prepared.properties }),
      itemKey: (i) => normalizedValue(idProperty, i.unique!.id),
      resultKey: (r) => {
        const v = isProps(r.properties) ? r.properties[idProperty] : undefined;
        return typeof v === 'string' ? normalizedValue(idProperty, v) : undefined;
      },
      read: (r) => (typeof r.id === 'string' && r.id !== '' ? { id: r.id, created: r.new === true } : undefined),
    },
    items,
    signal,
  );
}

const isProps = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const code = (err: unknown) => (err instanceof TaskFailure ? err.failure.code : undefined);
