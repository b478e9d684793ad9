/**
 * `hubspot.associate`: associates two HubSpot records (default association type) that Statusflow already
 * linked to entities — the run's entity (or `fromEntity`) and `toEntity` — through the same connection.
 * Safe to repeat: associating twice leaves one association. It is `batchable` (docs/provider-batching.md): steps
 * ready together go out in HubSpot's v4 batch call `POST /crm/v4/associations/{from}/{to}/batch/associate/default`.
 */
import { z } from 'zod';
import { failure, TaskFailure } from '../../domain/failure.js';
import type { ConnectionContext, TaskContext, TaskKind } from '../types.js';
import { batchCall, HUBSPOT_BATCH_MAX } from './batch-call.js';
import { connectionOf, HUBSPOT_OBJECTS, hubspotRequest, type HubSpotObject } from './client.js';

const expression = z.string().min(1).max(10_000);

export const HubSpotAssociateInputSchema = z.strictObject({
  from: z.enum(HUBSPOT_OBJECTS),
  to: z.enum(HUBSPOT_OBJECTS),
  /** Expression giving the id of the entity whose `to` record is the target (e.g. `customer_id`). */
  toEntity: expression,
  /** Expression giving the id of the entity whose `from` record is the source; default: the run's entity. */
  fromEntity: expression.optional(),
});

export interface HubSpotAssociateInput {
  from: HubSpotObject;
  to: HubSpotObject;
  toEntity: unknown;
  fromEntity?: unknown;
}

export interface HubSpotAssociateOutput {
  from: { type: HubSpotObject; id: string };
  to: { type: HubSpotObject; id: string };
}

export const hubspotAssociate: TaskKind<HubSpotAssociateInput> = {
  kind: 'hubspot.associate',
  inputSchema: HubSpotAssociateInputSchema,
  expressionFields: ['toEntity', 'fromEntity'],
  connection: { required: true, providers: ['hubspot'] },
  batch: {
    maxSize: HUBSPOT_BATCH_MAX,
    async plan(input, ctx) {
      const { cc, fromId, toId } = await records(input, ctx);
      const item: AssociateItem = { cc, from: input.from, to: input.to, fromId, toId };
      return { key: `${ctx.orgId}\u0000${cc.connection.key}\u0000${input.from}\u0000${input.to}`, identity: `${fromId}\u0000${toId}`, item };
    },
    async runMany(members, signal) {
      const items = members.map((m) => m.item as AssociateItem);
      const { cc, from, to } = items[0]!;
      const settled = await batchCall<AssociateItem, true>(
        cc,
        {
          path: `/crm/v4/associations/${from}/${to}/batch/associate/default`,
          input: (i) => ({ from: { id: i.fromId }, to: { id: i.toId } }),
          itemKey: (i) => `${i.fromId}\u0000${i.toId}`,
          resultKey: (r) => `${idOf(r.from)}\u0000${idOf(r.to)}`,
          read: () => true,
        },
        items,
        signal,
      );
      return settled.map((s, k) => {
        const i = items[k]!;
        if ('err' in s) return { ok: false, error: explained(s.err, i.from, i.fromId, i.to, i.toId) };
        return { ok: true, output: { from: { type: i.from, id: i.fromId }, to: { type: i.to, id: i.toId } } };
      });
    },
  },
  async run(input, ctx): Promise<HubSpotAssociateOutput> {
    const { cc, fromId, toId } = await records(input, ctx);
    const path = `/crm/v4/objects/${input.from}/${encodeURIComponent(fromId)}/associations/default/${input.to}/${encodeURIComponent(toId)}`;
    try {
      await hubspotRequest(cc, { method: 'PUT', path }, ctx.signal);
    } catch (err) {
      throw explained(err, input.from, fromId, input.to, toId);
    }
    return { from: { type: input.from, id: fromId }, to: { type: input.to, id: toId } };
  },
};

interface AssociateItem {
  cc: ConnectionContext;
  from: HubSpotObject;
  to: HubSpotObject;
  fromId: string;
  toId: string;
}

/** The two linked records (throws HUBSPOT_LINK_MISSING / INVALID_INPUT as the step's failure). */
async function records(input: HubSpotAssociateInput, ctx: TaskContext): Promise<{ cc: ConnectionContext; fromId: string; toId: string }> {
  const cc = connectionOf(ctx, 'hubspot.associate');
  const fromEntity = 'fromEntity' in input ? entityId('fromEntity', input.fromEntity) : ctx.entity.id;
  const toEntity = entityId('toEntity', input.toEntity);
  // Both read at once: the engine makes the link reads of one turn (of every step planning) one query per type.
  const [fromLink, toLink] = await Promise.all([cc.links.get(input.from, fromEntity), cc.links.get(input.to, toEntity)]);
  if (!fromLink) throw linkMissing(cc, input.from, fromEntity);
  if (!toLink) throw linkMissing(cc, input.to, toEntity);
  return { cc, fromId: fromLink.externalId, toId: toLink.externalId };
}

/** A record HubSpot no longer has: say which, and how to recreate it. */
function explained(err: unknown, from: HubSpotObject, fromId: string, to: HubSpotObject, toId: string): unknown {
  if (!(err instanceof TaskFailure) || err.failure.code !== 'HUBSPOT_OBJECT_NOT_FOUND') return err;
  const f = err.failure;
  return new TaskFailure({ ...f, message: `${f.message} (the ${from} record ${fromId} or the ${to} record ${toId} no longer exists in HubSpot; run hubspot.upsert again to recreate it)` });
}

const idOf = (v: unknown) => (typeof v === 'object' && v !== null ? String((v as { id?: unknown }).id ?? '') : '');

function entityId(field: string, value: unknown): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  const got = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 100);
  throw failure('INVALID_INPUT', `${field} must evaluate to an entity id, got ${got}`, false);
}

function linkMissing(cc: ConnectionContext, type: HubSpotObject, entity: string): TaskFailure {
  return failure(
    'HUBSPOT_LINK_MISSING',
    `Entity ${entity} has no HubSpot ${type} record through connection "${cc.connection.key}" yet: run a hubspot.upsert of ${type} for it first`,
    false,
    { details: { entityId: entity, externalType: type, connection: cc.connection.key } },
  );
}
