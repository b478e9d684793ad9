/**
 * `hubspot.upsert` as a batchable task kind (docs/provider-batching.md): steps of one organization, connection and
 * object that are ready together go out in HubSpot batch calls of up to 100, with the same choices and the same
 * guarantees as one step alone (upsert.ts):
 *   - a linked record → `batch/update` by its id (safe to repeat). Records HubSpot no longer has (deleted meanwhile)
 *     go on with an upsert by the unique property, as a lone step's PATCH 404 does;
 *   - no link → `batch/upsert` by the unique property holding the entity id (or the contact's email): a repeat
 *     after a lost answer updates the record the first call created, so no duplicate.
 * Steps without a unique property or value fail in `plan` exactly as they would alone; two steps with the same
 * record or unique value never share a call (HubSpot refuses duplicate ids in one batch).
 */
import type { BatchMember, BatchOutcome, TaskBatching } from '../types.js';
import type { HubSpotObject } from './client.js';
import { batchCall, HUBSPOT_BATCH_MAX, type Settled } from './batch-call.js';
import { keep, normalizedValue, prepareUpsert, uniqueKey, type HubSpotUpsertInput, type PreparedUpsert } from './upsert-plan.js';
import { TaskFailure } from '../../domain/failure.js';

/** One step in a grouped call. */
interface UpsertItem {
  prepared: PreparedUpsert;
  /** The linked record's id (batch update), when the entity has a link. */
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
    const link = await cc.links.get(object);
    if (link) {
      const item: UpsertItem = { prepared, linkedId: link.externalId };
      // Kept for a record deleted in HubSpot meanwhile; without it such a record fails as a lone step's would.
      try {
        item.unique = uniqueKey(prepared);
      } catch {
        // no unique property: the update by id is all there is
      }
      return { key: `${group}\u0000update`, identity: link.externalId, item };
    }
    const unique = uniqueKey(prepared);
    return { key: `${group}\u0000upsert\u0000${unique.idProperty}`, identity: normalizedValue(unique.idProperty, unique.id), item: { prepared, unique } satisfies UpsertItem };
  },
  async runMany(members, signal) {
    const items = members.map((m) => m.item as UpsertItem);
    const first = items[0]!.prepared;
    const { cc, object } = first;
    let written: Settled<Written>[];
    if (items[0]!.linkedId !== undefined) {
      written = await updateMany(items, signal);
      // Linked records HubSpot no longer has: upsert them by the unique property, as a lone step does.
      const gone = written.flatMap((w, i) => ('err' in w && code(w.err) === 'HUBSPOT_OBJECT_NOT_FOUND' && items[i]!.unique ? [i] : []));
      for (const idProperty of new Set(gone.map((i) => items[i]!.unique!.idProperty))) {
        const these = gone.filter((i) => items[i]!.unique!.idProperty === idProperty);
        const again = await upsertMany(object, these.map((i) => items[i]!), signal, cc);
        these.forEach((i, k) => (written[i] = again[k]!));
      }
    } else {
      written = await upsertMany(object, items, signal, cc);
    }
    return Promise.all(written.map((w, i) => outcome(members[i]!, w)));
  },
};

async function outcome(member: BatchMember, w: Settled<Written>): Promise<BatchOutcome> {
  if ('err' in w) return { ok: false, error: w.err };
  const { cc, config, object } = (member.item as UpsertItem).prepared;
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
