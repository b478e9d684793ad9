/**
 * The HubSpot sandbox's vocabulary (hubspot.ts and its parts): record and association types, the built-in
 * properties, HUBSPOT_DEFINED association types, and the error a handler throws to answer with HubSpot's error body.
 */
import type { Reply } from './faults.js';

export type HubSpotObjectType = 'contacts' | 'companies' | 'deals';
export interface HubSpotObject { id: string; properties: Record<string, string>; createdAt: string; updatedAt: string; archived: boolean; archivedAt?: string }
export interface HubSpotAssociation { fromType: HubSpotObjectType; fromId: string; toType: HubSpotObjectType; toId: string; typeId: number; category: string }
export interface HubSpotRateLimit { requests: number; perMs: number; daily?: number }

/** How a batch answers when some inputs have invalid property values: 207 for those (default), or 400 for the whole call with nothing applied. */
export type BatchValidation = 'per-input' | 'whole-call';

export const TYPES: HubSpotObjectType[] = ['contacts', 'companies', 'deals'];
export const TYPE_IDS: Record<string, HubSpotObjectType> = { '0-1': 'contacts', '0-2': 'companies', '0-3': 'deals', contacts: 'contacts', companies: 'companies', deals: 'deals', contact: 'contacts', company: 'companies', deal: 'deals' };
export const OBJECT_TYPE_ID: Record<HubSpotObjectType, string> = { contacts: '0-1', companies: '0-2', deals: '0-3' };
export const SINGULAR: Record<HubSpotObjectType, string> = { contacts: 'contact', companies: 'company', deals: 'deal' };
export const BUILT_IN: Record<HubSpotObjectType, string[]> = {
  contacts: ['email', 'firstname', 'lastname', 'phone', 'mobilephone', 'company', 'website', 'jobtitle', 'lifecyclestage', 'hs_lead_status', 'address', 'city', 'state', 'zip', 'country', 'hubspot_owner_id'],
  companies: ['name', 'domain', 'website', 'industry', 'phone', 'description', 'address', 'city', 'state', 'zip', 'country', 'numberofemployees', 'annualrevenue', 'lifecyclestage', 'hubspot_owner_id'],
  deals: ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'dealtype', 'description', 'hubspot_owner_id'],
};
export const MODIFIED: Record<HubSpotObjectType, string> = { contacts: 'lastmodifieddate', companies: 'hs_lastmodifieddate', deals: 'hs_lastmodifieddate' };
export const READ_ONLY = ['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_lastmodifieddate'];
export const DEFAULT_READ: Record<HubSpotObjectType, string[]> = {
  contacts: ['email', 'firstname', 'lastname', 'createdate', 'lastmodifieddate', 'hs_object_id'],
  companies: ['name', 'domain', 'createdate', 'hs_lastmodifieddate', 'hs_object_id'],
  deals: ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'createdate', 'hs_lastmodifieddate', 'hs_object_id'],
};
/** HUBSPOT_DEFINED association type ids: id → [from, to, inverse id, label]. */
export const DEFINED: Record<number, [HubSpotObjectType, HubSpotObjectType, number, string | null]> = {
  1: ['contacts', 'companies', 2, 'Primary'], 2: ['companies', 'contacts', 1, 'Primary'],
  3: ['deals', 'contacts', 4, null], 4: ['contacts', 'deals', 3, null],
  5: ['deals', 'companies', 6, 'Primary'], 6: ['companies', 'deals', 5, 'Primary'],
  279: ['contacts', 'companies', 280, null], 280: ['companies', 'contacts', 279, null],
  341: ['deals', 'companies', 342, null], 342: ['companies', 'deals', 341, null],
};
/** Unlabelled default type id per pair (1, 2, 5, 6 are the "Primary" labels). */
export const DEFAULT_TYPE_ID = (from: HubSpotObjectType, to: HubSpotObjectType) =>
  Number(Object.entries(DEFINED).find(([id, [f, t]]) => f === from && t === to && ![1, 2, 5, 6].includes(Number(id)))?.[0] ?? NaN);

export type Fail = { status: number; category: string; message: string; errors?: unknown[]; context?: Record<string, unknown>; extra?: Record<string, unknown> };
export class HttpFail extends Error { constructor(readonly fail: Fail) { super(fail.message); } }
export function fail(status: number, category: string, message: string, more: Partial<Fail> = {}): never {
  throw new HttpFail({ status, category, message, ...more });
}
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export type PropIssue = { isValid: false; message: string; error: string; name: string };

/** What the search and batch handlers use of the sandbox's records (built in hubspot.ts). */
export interface HubSpotRecords {
  now(): number;
  iso(): string;
  table(t: HubSpotObjectType): Map<string, HubSpotObject>;
  versions: Map<string, Array<{ at: number; properties: Record<string, string>; archived: boolean }>>;
  unique: Map<HubSpotObjectType, Set<string>>;
  searchLagMs(): number;
  batchValidation(): BatchValidation;
  checkProperties(type: HubSpotObjectType, input: unknown): { values: Record<string, string>; issues: PropIssue[] };
  invalid(issues: PropIssue[]): Fail;
  norm(type: HubSpotObjectType, prop: string, v: string): string;
  uniqueClash(type: HubSpotObjectType, values: Record<string, string>, selfId?: string): Fail | undefined;
  create(type: HubSpotObjectType, values: Record<string, string>): HubSpotObject;
  update(type: HubSpotObjectType, o: HubSpotObject, values: Record<string, string>): HubSpotObject;
  view(o: HubSpotObject, props?: string[]): { id: string; properties: Record<string, string | null>; createdAt: string; updatedAt: string; archived: boolean };
  readProps(type: HubSpotObjectType, requested: unknown): string[];
  lookup(type: HubSpotObjectType, id: string, idProperty: string | undefined, includeArchived?: boolean): HubSpotObject | undefined;
  associate(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, typeId: number, category: string): void;
  inlineAssociations(from: HubSpotObjectType, input: unknown): Array<(fromId: string) => void>;
  snapshot(o: HubSpotObject): void;
}

export type Handler = (...args: never[]) => Reply;
