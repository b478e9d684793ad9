/**
 * The HubSpot sandbox's v4 associations: `PUT …/associations/default/{to}/{toId}` (200, both directions),
 * labelled `PUT …/associations/{to}/{toId}` (201), `GET …/associations/{to}`, `DELETE`, and associations inline on create.
 */
import type { Exchange, Reply } from './faults.js';
import { DEFAULT_TYPE_ID, DEFINED, fail, isRecord, OBJECT_TYPE_ID, SINGULAR, TYPES, type HubSpotAssociation, type HubSpotObject, type HubSpotObjectType } from './hubspot-model.js';

export interface AssociationDeps {
  table(t: HubSpotObjectType): Map<string, HubSpotObject>;
  associations: HubSpotAssociation[];
  iso(): string;
  parseType(raw: string | undefined): HubSpotObjectType;
  jsonBody(x: Exchange): Record<string, unknown> | unknown[];
}

export function associationHandlers(d: AssociationDeps) {
  const { table, associations, iso, parseType, jsonBody } = d;
  const typeOfId = (id: string) => TYPES.find((t) => table(t).get(id) && !table(t).get(id)!.archived);
  function associate(fromType: HubSpotObjectType, fromId: string, toType: HubSpotObjectType, toId: string, typeId: number, category: string) {
    if (!associations.some((a) => a.fromType === fromType && a.fromId === fromId && a.toType === toType && a.toId === toId && a.typeId === typeId)) {
      associations.push({ fromType, fromId, toType, toId, typeId, category });
    }
  }
  function checkSpec(from: HubSpotObjectType, to: HubSpotObjectType, spec: unknown): { category: string; typeId: number } {
    const s = isRecord(spec) ? spec : {};
    const category = String(s.associationCategory ?? '');
    const typeId = Number(s.associationTypeId);
    if (!['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED'].includes(category) || !Number.isInteger(typeId) || typeId <= 0) {
      fail(400, 'VALIDATION_ERROR', `Invalid association spec: ${JSON.stringify(spec)}`);
    }
    if (category === 'HUBSPOT_DEFINED' && (DEFINED[typeId]?.[0] !== from || DEFINED[typeId]?.[1] !== to)) {
      fail(400, 'VALIDATION_ERROR', `${typeId} is not a valid HUBSPOT_DEFINED association type between ${from} and ${to}`);
    }
    return { category, typeId };
  }
  /** Associations on create: `[{to:{id}, types:[{associationCategory, associationTypeId}]}]`; the target type comes from the type id. */
  function inlineAssociations(from: HubSpotObjectType, input: unknown): Array<(fromId: string) => void> {
    if (input === undefined) return [];
    if (!Array.isArray(input)) fail(400, 'VALIDATION_ERROR', 'associations must be an array');
    return (input as unknown[]).flatMap((a) => {
      const toId = isRecord(a) && isRecord(a.to) ? String(a.to.id) : '';
      const types = isRecord(a) && Array.isArray(a.types) ? a.types : [];
      const toType = typeOfId(toId);
      if (!toType) fail(400, 'VALIDATION_ERROR', `One or more associations are invalid: object ${toId} does not exist`);
      return types.map((spec: unknown) => {
        const { category, typeId } = checkSpec(from, toType, spec);
        return (fromId: string) => associate(from, fromId, toType, toId, typeId, category);
      });
    });
  }

  /** `/crm/v4/objects/{from}/{fromId}/associations/…` (seg: the path's segments). */
  function objectAssociations(x: Exchange, seg: string[]): Reply {
    const m = x.method;
    const from = parseType(seg[3]);
    const fromId = seg[4]!;
    const isDefault = seg[6] === 'default';
    const to = parseType(isDefault ? seg[7] : seg[6]);
    const toId = isDefault ? seg[8] : seg[7];
    const need = (t: HubSpotObjectType, id: string) => {
      const o = table(t).get(id);
      if (!o || o.archived) fail(404, 'OBJECT_NOT_FOUND', `No ${SINGULAR[t]} with id ${id} exists`, { context: { id: [id] } });
    };
    need(from, fromId);
    if (toId === undefined && m === 'GET') {
      const rows = new Map<string, Array<{ category: string; typeId: number; label: string | null }>>();
      for (const a of associations) {
        const forward = a.fromType === from && a.fromId === fromId && a.toType === to;
        const backward = a.toType === from && a.toId === fromId && a.fromType === to;
        if (!forward && !backward) continue;
        const other = forward ? a.toId : a.fromId;
        const typeId = forward || a.category !== 'HUBSPOT_DEFINED' ? a.typeId : DEFINED[a.typeId]?.[2] ?? a.typeId;
        rows.set(other, [...(rows.get(other) ?? []), { category: a.category, typeId, label: a.category === 'HUBSPOT_DEFINED' ? DEFINED[typeId]?.[3] ?? null : null }]);
      }
      return { status: 200, json: { results: [...rows].map(([id, associationTypes]) => ({ toObjectId: Number(id), associationTypes })) } };
    }
    if (toId === undefined) return fail(405, 'VALIDATION_ERROR', `${m} is not allowed on ${x.path}`);
    need(to, toId);
    if (m === 'DELETE' && !isDefault) {
      for (let n = associations.length - 1; n >= 0; n--) {
        const a = associations[n]!;
        if ((a.fromType === from && a.fromId === fromId && a.toType === to && a.toId === toId) || (a.fromType === to && a.fromId === toId && a.toType === from && a.toId === fromId)) associations.splice(n, 1);
      }
      return { status: 204 };
    }
    if (m !== 'PUT') return fail(405, 'VALIDATION_ERROR', `${m} is not allowed on ${x.path}`);
    if (isDefault) {
      const typeId = DEFAULT_TYPE_ID(from, to);
      if (Number.isNaN(typeId)) fail(400, 'VALIDATION_ERROR', `No default association between ${from} and ${to}`);
      associate(from, fromId, to, toId, typeId, 'HUBSPOT_DEFINED');
      const spec = (id: number) => ({ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: id });
      const results = [{ from: { id: fromId }, to: { id: toId }, associationSpec: spec(typeId) }, { from: { id: toId }, to: { id: fromId }, associationSpec: spec(DEFINED[typeId]![2]) }];
      return { status: 200, json: { status: 'COMPLETE', results, startedAt: iso(), completedAt: iso() } };
    }
    const specs = jsonBody(x);
    if (!Array.isArray(specs) || specs.length === 0) fail(400, 'VALIDATION_ERROR', 'Body must be a non-empty array of {associationCategory, associationTypeId}');
    const checked = (specs as unknown[]).map((s) => checkSpec(from, to, s));
    for (const s of checked) associate(from, fromId, to, toId, s.typeId, s.category);
    const labels = checked.flatMap((s) => (s.category === 'HUBSPOT_DEFINED' && DEFINED[s.typeId]?.[3] ? [DEFINED[s.typeId]![3]!] : []));
    return { status: 201, json: { fromObjectTypeId: OBJECT_TYPE_ID[from], fromObjectId: Number(fromId), toObjectTypeId: OBJECT_TYPE_ID[to], toObjectId: Number(toId), labels } };
  }
  return { associate, inlineAssociations, objectAssociations };
}
