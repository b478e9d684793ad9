/**
 * `hubspot.upsert`: creates or updates a contact, company or deal and keeps the link. It never creates a
 * duplicate, even when repeated after a crash between HubSpot's answer and the link being kept:
 *   1. the entity has a link to such a record → PATCH it (deleted in HubSpot meanwhile → go on with 2);
 *   2. otherwise batch upsert keyed by a unique property: contacts by `email`, companies and deals by a custom
 *      unique property holding the entity id — HubSpot updates the record that has that value, or creates it.
 * It never searches then creates: HubSpot's search index lags writes by seconds (CHEATSHEET.md).
 * It is `batchable` (upsert-batch.ts, docs/provider-batching.md): steps ready together share HubSpot batch calls.
 */
import { z } from 'zod';
import { failure } from '../../domain/failure.js';
import { isRecord } from '../../domain/schema-kit.js';
import type { ConnectionContext, TaskKind } from '../types.js';
import { HUBSPOT_OBJECTS, hubspotRequest, propertyName, type HubSpotObject } from './client.js';
import { hubspotBatchItemFailure } from './errors.js';
import { keep, prepareUpsert, uniqueKey, type HubSpotUpsertInput, type HubSpotUpsertOutput } from './upsert-plan.js';
import { hubspotUpsertBatching } from './upsert-batch.js';

export { hubspotProperties, type HubSpotUpsertInput, type HubSpotUpsertOutput } from './upsert-plan.js';

const expression = z.string().min(1).max(10_000);

export const HubSpotUpsertInputSchema = z.strictObject({
  object: z.enum(HUBSPOT_OBJECTS),
  /** Expression giving an object of HubSpot properties (or an object whose string values are expressions). */
  properties: z.union([expression, z.record(z.string(), z.json())], { error: 'must be an expression (text) or an object' }),
  /** The unique property to match on; default: `email` for contacts, the connection's `uniqueProperties[object]` otherwise. */
  idProperty: propertyName.optional(),
});

export const hubspotUpsert: TaskKind<HubSpotUpsertInput> = {
  kind: 'hubspot.upsert',
  inputSchema: HubSpotUpsertInputSchema,
  expressionFields: ['properties'],
  connection: { required: true, providers: ['hubspot'] },
  batch: hubspotUpsertBatching,
  async run(input, ctx): Promise<HubSpotUpsertOutput> {
    const p = prepareUpsert(input, ctx);
    const { cc, config, object, properties } = p;
    const link = await cc.links.get(object);
    if (link) {
      const updated = await patch(cc, object, link.externalId, properties, ctx.signal);
      if (updated !== undefined) return keep(cc, config, object, updated, false);
    }
    const { idProperty, id } = uniqueKey(p);
    const result = await upsert(cc, object, { idProperty, id, properties }, ctx.signal);
    return keep(cc, config, object, result.id, result.created);
  },
};

/** PATCHes the linked record; undefined when HubSpot no longer has it (deleted/archived). */
async function patch(cc: ConnectionContext, object: HubSpotObject, id: string, properties: Record<string, string>, signal: AbortSignal): Promise<string | undefined> {
  try {
    const res = await hubspotRequest(cc, { method: 'PATCH', path: `/crm/v3/objects/${object}/${encodeURIComponent(id)}`, body: { properties } }, signal);
    const got = (res.body as { id?: unknown } | null)?.id;
    return typeof got === 'string' && got !== '' ? got : id;
  } catch (err) {
    if ((err as { failure?: { code?: string } }).failure?.code === 'HUBSPOT_OBJECT_NOT_FOUND') return undefined;
    throw err;
  }
}

async function upsert(
  cc: ConnectionContext,
  object: HubSpotObject,
  one: { idProperty: string; id: string; properties: Record<string, string> },
  signal: AbortSignal,
): Promise<{ id: string; created: boolean }> {
  const path = `/crm/v3/objects/${object}/batch/upsert`;
  const res = await hubspotRequest(cc, { method: 'POST', path, body: { inputs: [one] } }, signal);
  const body = (isRecord(res.body) ? res.body : {}) as { results?: unknown; errors?: unknown; correlationId?: unknown };
  const first = Array.isArray(body.results) ? (body.results[0] as { id?: unknown; new?: unknown } | undefined) : undefined;
  if (first && typeof first.id === 'string' && first.id !== '') return { id: first.id, created: first.new === true };
  if (Array.isArray(body.errors) && body.errors.length > 0) {
    const cid = typeof body.correlationId === 'string' ? body.correlationId : undefined;
    throw hubspotBatchItemFailure(body.errors[0], cid, `POST ${path}`, cc.connection.key);
  }
  throw failure('HUBSPOT_UNEXPECTED_RESPONSE', `HubSpot answered ${res.status} to POST ${path} without a record id`, true, { details: { status: res.status } });
}
