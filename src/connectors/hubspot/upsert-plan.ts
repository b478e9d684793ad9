/**
 * What `hubspot.upsert` decides before it sends anything, shared by the single-record path (upsert.ts) and the
 * grouped one (upsert-batch.ts), so both make the same choices and give the same failures: the properties as
 * HubSpot wants them, the unique property and its value, and the link kept afterwards.
 */
import { failure } from '../../domain/failure.js';
import { isRecord } from '../../domain/schema-kit.js';
import type { ConnectionContext, TaskContext } from '../types.js';
import { connectionOf, hubspotConfig, recordUrl, type HubSpotConfig, type HubSpotObject } from './client.js';

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

export interface PreparedUpsert {
  cc: ConnectionContext;
  config: HubSpotConfig;
  object: HubSpotObject;
  properties: Record<string, string>;
  /** The unique property to match on; undefined when the connection names none for this object. */
  idProperty: string | undefined;
}

const DOCS = 'docs/connectors/hubspot.md#the-unique-property-for-companies-and-deals';

/** Checks the connection and input; the unique property holds the entity id unless the mapping gives it a value. */
export function prepareUpsert(input: HubSpotUpsertInput, ctx: TaskContext): PreparedUpsert {
  const cc = connectionOf(ctx, 'hubspot.upsert');
  const config = hubspotConfig(cc.connection);
  const { object } = input;
  const properties = hubspotProperties(input.properties);
  const idProperty = input.idProperty ?? (object === 'contacts' ? 'email' : config.uniqueProperties[object]);
  // Contacts' email always comes from the mapping.
  if (idProperty !== undefined && idProperty !== 'email' && !properties[idProperty]) properties[idProperty] = ctx.entity.id;
  return { cc, config, object, properties, idProperty };
}

/** The unique property and its value for an upsert without a (working) link; throws when there is none. */
export function uniqueKey(p: PreparedUpsert): { idProperty: string; id: string } {
  const { idProperty, object, cc } = p;
  if (idProperty === undefined) {
    throw failure(
      'HUBSPOT_UNIQUE_PROPERTY_MISSING',
      `hubspot.upsert of ${object} needs a unique property holding the entity id: set "uniqueProperties": {"${object}": "statusflow_id"} in connection "${cc.connection.key}" (or idProperty on the task) — see ${DOCS}`,
      false,
      { details: { object, connection: cc.connection.key } },
    );
  }
  const id = p.properties[idProperty];
  if (!id) {
    const what = idProperty === 'email' ? 'contacts need an email: properties must include email' : `properties must give ${idProperty} a value`;
    throw failure('INVALID_INPUT', `${what} (HubSpot matches ${object} on ${idProperty}, so a repeated upsert updates the same record instead of creating a duplicate)`, false);
  }
  return { idProperty, id };
}

/** A unique value as HubSpot compares it (contact emails are stored in lower case). */
export function normalizedValue(idProperty: string, value: string): string {
  return idProperty === 'email' ? value.toLowerCase() : value;
}

/** Keeps the link of the step's entity to the record and returns the step's output. */
export async function keep(cc: ConnectionContext, config: HubSpotConfig, object: HubSpotObject, id: string, created: boolean): Promise<HubSpotUpsertOutput> {
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
