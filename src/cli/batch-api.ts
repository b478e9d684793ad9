/** The batches of API.md ("Batches"), as the `statusflow` commands read them. */
import type { ApiClient } from './client.js';

/** What a batch runs over (the body's `filter`, fixed at creation). */
export interface BatchFilter {
  status?: string[];
  where?: string;
  ids?: string[];
  linked?: { connection: string; exists: boolean };
  updatedAfter?: string;
  updatedBefore?: string;
}

export interface Batch {
  id: string;
  process: string;
  processVersion?: number;
  entityType?: string;
  filter: BatchFilter;
  status: 'running' | 'paused' | 'cancelled' | 'completed';
  /** Items in the batch (fixed at creation), then what each is doing or how it ended. */
  total: number;
  /** Not queued yet: the server queues a window of runs at a time. */
  pending?: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
  createdAt: string;
  createdBy: string | { type: string; id: string; name?: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** The server's estimate of the time left; null when it has none. */
  etaSeconds: number | null;
}

/** One entity of a batch and how its run went. */
export interface BatchItem {
  entityId: string;
  runId: string | null;
  status: string;
  error: { code: string; message: string } | null;
  attempts?: number;
}

export const ACTIONS = ['pause', 'resume', 'cancel', 'retry-failed'] as const;
export type BatchAction = (typeof ACTIONS)[number];

export function batchPath(id: string): string {
  return `/api/v1/batches/${encodeURIComponent(id)}`;
}

export function getBatch(api: ApiClient, id: string): Promise<Batch> {
  return api.get<Batch>(batchPath(id));
}

/** Items that have ended, whatever the outcome. */
export function ended(b: Batch): number {
  return b.succeeded + b.failed + b.skipped + b.cancelled;
}

/** A batch no new run starts for (until someone retries its failed items). */
export function isFinished(b: Pick<Batch, 'status'>): boolean {
  return b.status === 'completed' || b.status === 'cancelled';
}

/** Finished, and its last runs have ended too (a cancelled batch lets the runs already running finish). */
export function isSettled(b: Batch): boolean {
  return isFinished(b) && b.running === 0 && b.queued === 0;
}

/** Who created a batch: `api key "ci" 01k…`. */
export function creator(b: Batch): string {
  const c = b.createdBy;
  if (!c) return '';
  return typeof c === 'string' ? c : `${c.type.replace(/_/g, ' ')}${c.name ? ` ${JSON.stringify(c.name)}` : ''} ${c.id}`;
}

/** Does an event's data look like a whole batch (so it can replace the one shown)? */
export function isBatch(value: unknown): value is Batch {
  const b = value as Partial<Batch> | null;
  return typeof b === 'object' && b !== null && typeof b.id === 'string' && typeof b.status === 'string' && typeof b.total === 'number' && typeof b.succeeded === 'number';
}

/** The filter in one line, as the options that make it: `--status received --where "total > 10"`. */
export function describeFilter(f: BatchFilter | undefined): string {
  if (!f) return '(every entity)';
  const parts: string[] = [];
  if (f.status?.length) parts.push(`--status ${f.status.join(',')}`);
  if (f.where) parts.push(`--where ${JSON.stringify(f.where)}`);
  if (f.ids?.length) parts.push(`--ids ${f.ids.length > 3 ? `${f.ids.slice(0, 3).join(',')},… (${f.ids.length})` : f.ids.join(',')}`);
  if (f.linked) parts.push(`${f.linked.exists ? '--linked' : '--not-linked'} ${f.linked.connection}`);
  if (f.updatedAfter) parts.push(`--updated-after ${f.updatedAfter}`);
  if (f.updatedBefore) parts.push(`--updated-before ${f.updatedBefore}`);
  return parts.length ? parts.join(' ') : '(every entity)';
}
