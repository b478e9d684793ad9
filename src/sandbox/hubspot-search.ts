/** The HubSpot sandbox's `POST /crm/v3/objects/{type}/search` (filters, sorts, paging, optional index lag). */
import type { Reply } from './faults.js';
import { fail, isRecord, type HubSpotObject, type HubSpotObjectType, type HubSpotRecords } from './hubspot-model.js';

/** The search handler over the sandbox's records. */
export function searchHandler(r: HubSpotRecords): (type: HubSpotObjectType, body: Record<string, unknown>) => Reply {
  const { table, versions, now, view, readProps } = r;
  // ---- search -----------------------------------------------------------------------------------
  function searchable(type: HubSpotObjectType): Array<{ id: string; properties: Record<string, string>; o: HubSpotObject }> {
    const cutoff = now() - r.searchLagMs();
    const out: Array<{ id: string; properties: Record<string, string>; o: HubSpotObject }> = [];
    for (const o of table(type).values()) {
      const history = versions.get(o.id);
      if (r.searchLagMs() <= 0 || !history) { if (!o.archived) out.push({ id: o.id, properties: o.properties, o }); continue; }
      const seen = [...history].reverse().find((v) => v.at <= cutoff);
      if (seen && !seen.archived) out.push({ id: o.id, properties: seen.properties, o });
    }
    return out;
  }
  function matches(props: Record<string, string>, f: Record<string, unknown>): boolean {
    const name = String(f.propertyName ?? '');
    const actual = name === 'id' ? props.hs_object_id : props[name];
    const cmp = (a: string, b: unknown) => {
      const x = Number(a), y = Number(b);
      return Number.isFinite(x) && Number.isFinite(y) && a !== '' ? x - y : a.localeCompare(String(b));
    };
    const eq = (a: string | undefined, b: unknown) => a !== undefined && a.toLowerCase() === String(b).toLowerCase();
    const values = Array.isArray(f.values) ? f.values : [];
    switch (f.operator) {
      case 'EQ': return eq(actual, f.value);
      case 'NEQ': return !eq(actual, f.value);
      case 'IN': return values.some((v) => eq(actual, v));
      case 'NOT_IN': return !values.some((v) => eq(actual, v));
      case 'HAS_PROPERTY': return actual !== undefined;
      case 'NOT_HAS_PROPERTY': return actual === undefined;
      case 'LT': return actual !== undefined && cmp(actual, f.value) < 0;
      case 'LTE': return actual !== undefined && cmp(actual, f.value) <= 0;
      case 'GT': return actual !== undefined && cmp(actual, f.value) > 0;
      case 'GTE': return actual !== undefined && cmp(actual, f.value) >= 0;
      case 'BETWEEN': return actual !== undefined && cmp(actual, f.value) >= 0 && cmp(actual, f.highValue) <= 0;
      case 'CONTAINS_TOKEN': return actual !== undefined && actual.toLowerCase().split(/\W+/).includes(String(f.value).toLowerCase().replace(/\*/g, ''));
      case 'NOT_CONTAINS_TOKEN': return !(actual !== undefined && actual.toLowerCase().split(/\W+/).includes(String(f.value).toLowerCase()));
      default: return fail(400, 'VALIDATION_ERROR', `Unsupported operator ${String(f.operator)}`);
    }
  }
  function search(type: HubSpotObjectType, body: Record<string, unknown>): Reply {
    const groups = Array.isArray(body.filterGroups) ? (body.filterGroups as unknown[]) : [];
    const filters = groups.map((g) => (isRecord(g) && Array.isArray(g.filters) ? (g.filters as Record<string, unknown>[]) : []));
    if (groups.length > 5 || filters.some((f) => f.length > 10) || filters.flat().length > 25) {
      fail(400, 'VALIDATION_ERROR', 'Too many filters: at most 5 filterGroups, 10 filters per group and 25 filters in total');
    }
    const limitN = body.limit === undefined ? 10 : Number(body.limit);
    if (!Number.isInteger(limitN) || limitN < 0 || limitN > 200) fail(400, 'VALIDATION_ERROR', 'limit must be between 0 and 200');
    const after = Number(body.after ?? 0) || 0;
    let hits = searchable(type).filter((h) => filters.length === 0 || filters.some((group) => group.every((f) => matches(h.properties, f))));
    const sort = Array.isArray(body.sorts) && isRecord(body.sorts[0]) ? body.sorts[0] : undefined;
    hits.sort((a, b) => Number(a.id) - Number(b.id));
    if (sort) {
      const p = String(sort.propertyName ?? '');
      const dir = sort.direction === 'DESCENDING' ? -1 : 1;
      hits = hits.sort((a, b) => dir * (a.properties[p] ?? '').localeCompare(b.properties[p] ?? '', undefined, { numeric: true }));
    }
    const page = hits.slice(after, after + limitN);
    const props = readProps(type, body.properties);
    return {
      status: 200,
      json: {
        total: hits.length,
        results: page.map((h) => view({ ...h.o, properties: h.properties }, props)),
        ...(after + limitN < hits.length ? { paging: { next: { after: String(after + limitN) } } } : {}),
      },
    };
  }
  return search;
}
