/**
 * `hubspot.associate`: associates two HubSpot records (default association type) that Statusflow already
 * linked to entities — the run's entity (or `fromEntity`) and `toEntity` — through the same connection.
 * Safe to repeat: associating twice leaves one association.
 */
import { z } from 'zod';
import { failure, TaskFailure } from '../../domain/failure.js';
import type { ConnectionContext, TaskKind } from '../types.js';
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
  async run(input, ctx): Promise<HubSpotAssociateOutput> {
    const cc = connectionOf(ctx, 'hubspot.associate');
    const fromEntity = 'fromEntity' in input ? entityId('fromEntity', input.fromEntity) : ctx.entity.id;
    const toEntity = entityId('toEntity', input.toEntity);
    const fromId = await linkedRecord(cc, input.from, fromEntity);
    const toId = await linkedRecord(cc, input.to, toEntity);
    const path = `/crm/v4/objects/${input.from}/${encodeURIComponent(fromId)}/associations/default/${input.to}/${encodeURIComponent(toId)}`;
    try {
      await hubspotRequest(cc, { method: 'PUT', path }, ctx.signal);
    } catch (err) {
      if (err instanceof TaskFailure && err.failure.code === 'HUBSPOT_OBJECT_NOT_FOUND') {
        const f = err.failure;
        throw new TaskFailure({ ...f, message: `${f.message} (the ${input.from} record ${fromId} or the ${input.to} record ${toId} no longer exists in HubSpot; run hubspot.upsert again to recreate it)` });
      }
      throw err;
    }
    return { from: { type: input.from, id: fromId }, to: { type: input.to, id: toId } };
  },
};

function entityId(field: string, value: unknown): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  const got = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 100);
  throw failure('INVALID_INPUT', `${field} must evaluate to an entity id, got ${got}`, false);
}

async function linkedRecord(cc: ConnectionContext, type: HubSpotObject, entity: string): Promise<string> {
  const link = await cc.links.get(type, entity);
  if (link) return link.externalId;
  throw failure(
    'HUBSPOT_LINK_MISSING',
    `Entity ${entity} has no HubSpot ${type} record through connection "${cc.connection.key}" yet: run a hubspot.upsert of ${type} for it first`,
    false,
    { details: { entityId: entity, externalType: type, connection: cc.connection.key } },
  );
}
