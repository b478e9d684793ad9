/**
 * One HubSpot batch endpoint (`POST …/batch/<op>`, ≤100 inputs) for many records, each record getting its own
 * result or its own failure (docs/provider-batching.md "Partial failures"):
 *   - 200: results are paired with inputs by key (HubSpot does not promise them in input order);
 *   - 207: the records with a result succeeded; the refused ones (errors[] cannot be reliably paired with
 *     inputs) are sent again without the others, and a refusal of a call of one record is that record's own;
 *   - a whole-call refusal that may come from one record (400 VALIDATION_ERROR, 404, 409): nothing was
 *     applied, so the call is split in halves and each half sent again, down to the refused record;
 *   - anything else (401, 403, 429, 5xx, network errors, time-outs): every record gets that failure, and the
 *     engine retries each run by its own policy (task kinds never retry by themselves).
 * Every request waits for one slot of the connection's rate limit (hubspotRequest), however many records it carries.
 */
import { failure, TaskFailure } from '../../domain/failure.js';
import { isRecord } from '../../domain/schema-kit.js';
import type { ConnectionContext } from '../types.js';
import { hubspotRequest } from './client.js';
import { hubspotBatchItemFailure } from './errors.js';

/** HubSpot's batch endpoints take at most this many inputs (CHEATSHEET.md). */
export const HUBSPOT_BATCH_MAX = 100;

export type Settled<R> = { ok: R } | { err: unknown };

export interface BatchEndpoint<T, R> {
  /** e.g. `/crm/v3/objects/deals/batch/upsert`. */
  path: string;
  /** HubSpot's input for one record. */
  input(item: T): unknown;
  /** Pairs results with inputs: the key of an item, and of a result (undefined: the result names none). */
  itemKey(item: T): string;
  resultKey(result: Record<string, unknown>): string | undefined;
  /** What the item gets from its result; undefined when the result is unusable. */
  read(result: Record<string, unknown>): R | undefined;
}

/** Failure codes of a whole-call refusal that one record can cause (split the call to find it). */
const RECORD_SPECIFIC = new Set(['HUBSPOT_VALIDATION_ERROR', 'HUBSPOT_OBJECT_NOT_FOUND', 'HUBSPOT_CONFLICT']);

function recordSpecific(err: unknown): boolean {
  return err instanceof TaskFailure && RECORD_SPECIFIC.has(err.failure.code);
}

/** Sends `items` (≤ HUBSPOT_BATCH_MAX) to the endpoint; one outcome per item, in order. */
export async function batchCall<T, R>(cc: ConnectionContext, endpoint: BatchEndpoint<T, R>, items: readonly T[], signal: AbortSignal): Promise<Settled<R>[]> {
  const what = `POST ${endpoint.path}`;
  let body: Record<string, unknown>;
  let status: number;
  try {
    const res = await hubspotRequest(cc, { method: 'POST', path: endpoint.path, body: { inputs: items.map((i) => endpoint.input(i)) } }, signal);
    body = isRecord(res.body) ? res.body : {};
    status = res.status;
  } catch (err) {
    if (items.length > 1 && recordSpecific(err)) return halves(cc, endpoint, items, signal);
    return items.map(() => ({ err }));
  }
  const results = Array.isArray(body.results) ? body.results.filter(isRecord) : [];
  const errors = Array.isArray(body.errors) ? body.errors : [];
  const correlationId = typeof body.correlationId === 'string' ? body.correlationId : undefined;

  const byKey = new Map<string, Record<string, unknown>>();
  for (const r of results) {
    const k = endpoint.resultKey(r);
    if (k !== undefined) byKey.set(k, r);
  }
  const used = new Set<Record<string, unknown>>();
  const out: Array<Settled<R> | undefined> = items.map((item) => {
    const r = byKey.get(endpoint.itemKey(item));
    const value = r && endpoint.read(r);
    if (!r || value === undefined) return undefined;
    used.add(r);
    return { ok: value };
  });
  const missing = out.flatMap((o, i) => (o === undefined ? [i] : []));
  if (missing.length === 0) return out as Settled<R>[];
  const unused = results.filter((r) => !used.has(r));

  if (missing.length === 1) {
    // One record left: the one result or error left is its own.
    const i = missing[0]!;
    const value = unused.length === 1 ? endpoint.read(unused[0]!) : undefined;
    if (value !== undefined) out[i] = { ok: value };
    else if (errors.length > 0) out[i] = { err: hubspotBatchItemFailure(errors[0], correlationId, what, cc.connection.key) };
    else out[i] = { err: unexpected(status, what) };
    return out as Settled<R>[];
  }
  if (errors.length === 0) {
    for (const i of missing) out[i] = { err: unexpected(status, what) };
    return out as Settled<R>[];
  }
  // Several refused: send them again without the records that succeeded (or in halves, when none did).
  const rest = missing.map((i) => items[i]!);
  const again = missing.length === items.length ? await halves(cc, endpoint, rest, signal) : await batchCall(cc, endpoint, rest, signal);
  missing.forEach((i, k) => (out[i] = again[k]!));
  return out as Settled<R>[];
}

async function halves<T, R>(cc: ConnectionContext, endpoint: BatchEndpoint<T, R>, items: readonly T[], signal: AbortSignal): Promise<Settled<R>[]> {
  const mid = Math.ceil(items.length / 2);
  const first = await batchCall(cc, endpoint, items.slice(0, mid), signal);
  const second = await batchCall(cc, endpoint, items.slice(mid), signal);
  return [...first, ...second];
}

function unexpected(status: number, what: string): TaskFailure {
  return failure('HUBSPOT_UNEXPECTED_RESPONSE', `HubSpot answered ${status} to ${what} without this record's result`, true, { details: { status } });
}
