/**
 * `hubspot.upsert`: creates or updates a contact, company or deal and keeps the link. It never creates a
 * duplicate, even when repeated after a crash between HubSpot's answer and the link being kept:
 *   1. the entity has a link to such a record → PATCH it (deleted in HubSpot meanwhile → go on with 2);
 *   2. otherwise batch upsert keyed by a unique property: contacts by `email`, companies and deals by a custom
 *      unique property holding the entity id — HubSpot updates the record that has that value, or creates it.
 * It never searches then creates: HubSpot's search index lags writes by seconds (CHEATSHEET.md).
 */
import { z } from 'zod';
import { failure } from '../../domain/failure.js';
import { isRecord } from '../../domain/schema-kit.js';
import type { ConnectionContext, TaskKind } from '../types.js';
import {
  connectionOf,
  HUBSPOT_OBJECTS,
  hubspotConfig,
  hubspotRequest,
  propertyName,
  recordUrl,
  type HubSpotConfig,
  type HubSpotObject,
} from './client.js';
import { hubspotBatchItemFailure } from './errors.js';

const expression = z.string().min(1).max(10_000);

export const HubSpotUpsertInputSchema = z.strictObject({
  object: z.enum(HUBSPOT_OBJECTS),
  /** Expression giving an object of HubSpot properties (or an object whose string values are expressions). */
  properties: z.union([expression, z.record(z.string(), z.json())], { error: 'must be an expression (text) or an object' }),
  /** The unique property to match on; default: `email` for contacts, the connection's `uniqueProperties[object]` otherwise. */
  idProperty: propertyName.optional(),
});

/** The input as `run` receives it: `properties` evaluated. */
export interface HubSpotUpsertInput {
  object: HubSpotObject;
  properties: unknown;
  idProperty?: string;
}

export interface HubSpotUpsertOutput {
  /** HubSpot's record id. */
  id: string;
  object: HubSpotObject;
  /** Whether this step created the record (false: it updated one). */
  created: boolean;
  /** The record's page in HubSpot, when the connection's `portalId` is set. */
  url: string | null;
}

const DOCS = 'docs/connectors/hubspot.md#the-unique-property-for-companies-and-deals';

export const hubspotUpsert: TaskKind<HubSpotUpsertInput> = {
  kind: 'hubspot.upsert',
  inputSchema: HubSpotUpsertInputSchema,
  expressionFields: ['properties'],
  connection: { required: true, providers: ['hubspot'] },
  async run(input, ctx): Promise<HubSpotUpsertOutput> {
    const cc = connectionOf(ctx, 'hubspot.upsert');
    const config = hubspotConfig(cc.connection);
    const { object } = input;
    const properties = hubspotProperties(input.properties);
    const idProperty = input.idProperty ?? (object === 'contacts' ? 'email' : config.uniqueProperties[object]);
    // The unique property holds the entity id unless the mapping gives it a value (contacts' email always does).
    if (idProperty !== undefined && idProperty !== 'email' && !properties[idProperty]) properties[idProperty] = ctx.entity.id;

    const link = await cc.links.get(object);
    if (link) {
      const updated = await patch(cc, object, link.externalId, properties, ctx.signal);
      if (updated !== undefined) return keep(cc, config, object, updated, false);
    }
    if (idProperty === undefined) {
      throw failure(
        'HUBSPOT_UNIQUE_PROPERTY_MISSING',
        `hubspot.upsert of ${object} needs a unique property holding the entity id: set "uniqueProperties": {"${object}": "statusflow_id"} in connection "${cc.connection.key}" (or idProperty on the task) — see ${DOCS}`,
        false,
        { details: { object, connection: cc.connection.key } },
      );
    }
    const id = properties[idProperty];
    if (!id) {
      const what = idProperty === 'email' ? 'contacts need an email: properties must include email' : `properties must give ${idProperty} a value`;
      throw failure('INVALID_INPUT', `${what} (HubSpot matches ${object} on ${idProperty}, so a repeated upsert updates the same record instead of creating a duplicate)`, false);
    }
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

async function keep(cc: ConnectionContext, config: HubSpotConfig, object: HubSpotObject, id: string, created: boolean): Promise<HubSpotUpsertOutput> {
  const url = recordUrl(config, object, id);
  await cc.links.put({ externalType: object, externalId: id, url });
  return { id, object, created, url };
}

/**
 * The evaluated `properties` as HubSpot wants them: every value a string (numbers as digits, booleans
 * "true"/"false", null "" — which clears the property, lists of values joined with ";" as multi-select
 * properties take them). Properties that evaluated to nothing are left out (left unchanged in HubSpot).
 */
export function hubspotProperties(value: unknown): Record<string, string> {
  if (!isRecord(value)) {
    const got = value === undefined ? 'nothing' : Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw failure('INVALID_INPUT', `properties must evaluate to an object, got ${got}`, false);
  }
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const s = scalar(v) ?? (Array.isArray(v) && v.every((x) => scalar(x) !== undefined) ? v.map((x) => scalar(x)).join(';') : undefined);
    if (s === undefined) throw failure('INVALID_INPUT', `property ${name} must evaluate to text, a number, a boolean, null or a list of those; got ${Array.isArray(v) ? 'a nested list' : 'an object'}`, false);
    out[name] = s;
  }
  return out;
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return '';
  return undefined;
}
