/**
 * The HubSpot sandbox's batch endpoints (≤100 inputs): objects `batch/{create|read|update|upsert|archive}` and
 * v4 `associations/{from}/{to}/batch/associate/default`; 200/201, or 207 with `errors[]` for the refused inputs.
 */
import type { Reply } from './faults.js';
import { DEFAULT_TYPE_ID, fail, HttpFail, isRecord, SINGULAR, type Fail, type HubSpotObjectType, type HubSpotRecords } from './hubspot-model.js';

/** The batch handlers over the sandbox's records (`archive` is also the single DELETE). */
export function batchHandlers(r: HubSpotRecords) {
  const { iso, table, unique, checkProperties, invalid, norm, uniqueClash, create, update, view, readProps, lookup, associate, inlineAssociations, snapshot } = r;
  // ---- batches ----------------------------------------------------------------------------------
  type Outcome = { ok: unknown } | { err: Fail };
  function batchReply(outcomes: Outcome[], okStatus: number, allFailedIsError = true): Reply {
    const results = outcomes.flatMap((o) => ('ok' in o ? [o.ok] : []));
    const errors = outcomes.flatMap((o) => ('err' in o ? [o.err] : []));
    const times = { startedAt: iso(), completedAt: iso() };
    if (errors.length === 0) return { status: okStatus, json: { status: 'COMPLETE', results, ...times } };
    if (results.length === 0 && allFailedIsError) throw new HttpFail(errors[0]!);
    return {
      status: 207,
      json: {
        status: 'COMPLETE', results, numErrors: errors.length,
        errors: errors.map((e) => ({ status: 'error', category: e.category, message: e.message, ...(e.errors ? { errors: e.errors } : {}), context: e.context ?? {} })),
        ...times,
      },
    };
  }
  const attempt = (fn: () => unknown): Outcome => {
    try { return { ok: fn() }; } catch (e) { if (e instanceof HttpFail) return { err: e.fail }; throw e; }
  };
  function batch(type: HubSpotObjectType, op: string, body: Record<string, unknown>): Reply {
    if (!Array.isArray(body.inputs)) fail(400, 'VALIDATION_ERROR', 'Invalid input JSON: inputs must be an array');
    const inputs = (body.inputs as unknown[]).map((i) => (isRecord(i) ? i : {}));
    if (inputs.length > 100) fail(400, 'VALIDATION_ERROR', `Batch input limit exceeded: ${inputs.length} inputs, at most 100 are allowed`);
    if (op === 'upsert' || op === 'update' || op === 'read' || op === 'archive') {
      const keys = inputs.map((i) => `${String(i.idProperty ?? body.idProperty ?? '')}:${norm(type, String(i.idProperty ?? body.idProperty ?? ''), String(i.id ?? ''))}`);
      const seen = new Set<string>();
      const dup = keys.find((k) => seen.size === seen.add(k).size);
      if (dup) fail(400, 'VALIDATION_ERROR', `Duplicate IDs found in batch input: [${dup.split(':').slice(1).join(':')}]. IDs must be unique`);
    }
    if (r.batchValidation() === 'whole-call' && ['create', 'update', 'upsert'].includes(op)) {
      const bad = inputs.map((i) => checkProperties(type, i.properties).issues).find((issues) => issues.length > 0);
      if (bad) throw new HttpFail(invalid(bad));
    }
    switch (op) {
      case 'create':
        return batchReply(inputs.map((i) => attempt(() => {
          const { values, issues } = checkProperties(type, i.properties);
          if (issues.length) throw new HttpFail(invalid(issues));
          const links = inlineAssociations(type, i.associations);
          const clash = uniqueClash(type, values);
          if (clash) throw new HttpFail(clash);
          const o = create(type, values);
          for (const link of links) link(o.id);
          return view(o);
        })), 201);
      case 'read': {
        const props = readProps(type, body.properties);
        const idProperty = typeof body.idProperty === 'string' ? body.idProperty : undefined;
        const missing: string[] = [];
        const results = inputs.flatMap((i) => {
          const o = lookup(type, String(i.id ?? ''), idProperty, body.archived === true);
          if (!o) missing.push(String(i.id ?? ''));
          return o ? [{ ok: view(o, props) } as Outcome] : [];
        });
        const err: Outcome[] = missing.length ? [{ err: { status: 404, category: 'OBJECT_NOT_FOUND', message: `Could not get some ${type} objects, they may be deleted or not exist. Check that ids are valid.`, context: { ids: missing } } }] : [];
        return batchReply([...results, ...err], 200, false);
      }
      case 'update':
        return batchReply(inputs.map((i) => attempt(() => {
          const id = String(i.id ?? '');
          const o = lookup(type, id, typeof i.idProperty === 'string' ? i.idProperty : undefined) ?? fail(404, 'OBJECT_NOT_FOUND', `Object ${id} not found`, { context: { ids: [id] } });
          const { values, issues } = checkProperties(type, i.properties);
          if (issues.length) throw new HttpFail(invalid(issues));
          const clash = uniqueClash(type, values, o.id);
          if (clash) throw new HttpFail(clash);
          return view(update(type, o, values));
        })), 200);
      case 'upsert':
        for (const i of inputs) {
          if (typeof i.idProperty === 'string' && i.idProperty !== 'hs_object_id' && !unique.get(type)!.has(i.idProperty)) {
            fail(400, 'VALIDATION_ERROR', `Property ${i.idProperty} is not a unique identifier property for ${type}; upsert needs a property with unique values`);
          }
        }
        return batchReply(inputs.map((i) => attempt(() => {
          const id = String(i.id ?? '');
          if (id === '') fail(400, 'VALIDATION_ERROR', 'id is required for every upsert input');
          const idProperty = typeof i.idProperty === 'string' && i.idProperty !== 'hs_object_id' ? i.idProperty : undefined;
          const { values, issues } = checkProperties(type, i.properties);
          if (issues.length) throw new HttpFail(invalid(issues));
          const existing = lookup(type, id, idProperty);
          if (existing) {
            const clash = uniqueClash(type, values, existing.id);
            if (clash) throw new HttpFail(clash);
            return { ...view(update(type, existing, values)), new: false };
          }
          if (!idProperty) fail(404, 'OBJECT_NOT_FOUND', `Object ${id} not found`, { context: { ids: [id] } });
          const full = { ...values, [idProperty!]: norm(type, idProperty!, id) };
          const clash = uniqueClash(type, full);
          if (clash) throw new HttpFail(clash);
          return { ...view(create(type, full)), new: true };
        })), 200);
      case 'archive':
        for (const i of inputs) archive(type, String(i.id ?? ''));
        return { status: 204 };
      default:
        return fail(404, 'OBJECT_NOT_FOUND', `Unknown batch operation ${op}`);
    }
  }
  /** `POST /crm/v4/associations/{from}/{to}/batch/associate/default` {inputs:[{from:{id}, to:{id}}]} → 200, or 207 for inputs naming a missing record. */
  function batchAssociate(from: HubSpotObjectType, to: HubSpotObjectType, body: Record<string, unknown>): Reply {
    if (!Array.isArray(body.inputs)) fail(400, 'VALIDATION_ERROR', 'Invalid input JSON: inputs must be an array');
    const inputs = (body.inputs as unknown[]).map((i) => (isRecord(i) ? i : {}));
    if (inputs.length > 100) fail(400, 'VALIDATION_ERROR', `Batch input limit exceeded: ${inputs.length} inputs, at most 100 are allowed`);
    const typeId = DEFAULT_TYPE_ID(from, to);
    if (Number.isNaN(typeId)) fail(400, 'VALIDATION_ERROR', `No default association between ${from} and ${to}`);
    const idOf = (v: unknown) => (isRecord(v) ? String(v.id ?? '') : '');
    return batchReply(inputs.map((i) => attempt(() => {
      const fromId = idOf(i.from);
      const toId = idOf(i.to);
      for (const [t, id] of [[from, fromId], [to, toId]] as const) {
        const o = table(t).get(id);
        if (!o || o.archived) fail(404, 'OBJECT_NOT_FOUND', `No ${SINGULAR[t]} with id ${id} exists`, { context: { id: [id] } });
      }
      associate(from, fromId, to, toId, typeId, 'HUBSPOT_DEFINED');
      return { from: { id: fromId }, to: { id: toId }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId } };
    })), 200);
  }
  function archive(type: HubSpotObjectType, id: string) {
    const o = table(type).get(id);
    if (!o || o.archived) return;
    o.archived = true;
    o.archivedAt = iso();
    snapshot(o);
  }
  return { batch, batchAssociate, archive };
}
