/**
 * Follows a batch until it has finished: from the `batch.updated` events of `GET /api/v1/stream`, and,
 * when the stream cannot be opened or drops, by polling `GET /api/v1/batches/{id}` every second. While
 * the stream is up the batch is also read every few seconds, so an event lost on the way (another
 * server process's, relayed through Postgres) delays the end by seconds at most, never forever.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { getBatch, isBatch, isSettled, type Batch } from './batch-api.js';
import { ApiError, type ApiClient } from './client.js';
import { readStream } from './sse.js';

export interface FollowOptions {
  /** Every state seen, in order (the first is the batch as it is when following starts). */
  onUpdate(b: Batch): void;
  /** The stream could not be opened or dropped: following goes on by polling. */
  onFallback?(reason: string): void;
  /** Ctrl-C: following stops (the batch goes on) and followBatch resolves to null. */
  signal: AbortSignal;
  /** Polling interval once the stream is gone (default 1 s). */
  pollMs?: number;
  /** Reads of the batch while the stream is up (default every 5 s). */
  checkMs?: number;
  /** How long polling tolerates an unreachable server before giving up (default 30 s). */
  patienceMs?: number;
}

/** The batch once finished (completed or cancelled) with no run left running, or null when `signal` aborted first. */
export async function followBatch(api: ApiClient, id: string, o: FollowOptions): Promise<Batch | null> {
  let latest: Batch | null = null;
  /** An answer of the API while streaming (e.g. BATCH_NOT_FOUND): it ends following, it is not a drop. */
  let fatal: unknown = null;
  const stop = new AbortController();
  const abort = () => stop.abort();
  o.signal.addEventListener('abort', abort, { once: true });
  /** Counts shows: a read that an event overtook is not shown (it would step the counts back). */
  let shown = 0;
  const show = (b: Batch) => {
    shown++;
    latest = b;
    o.onUpdate(b);
    if (isSettled(b)) stop.abort();
  };
  const read = async () => {
    const before = shown;
    try {
      const b = await getBatch(api, id);
      if (shown === before || isSettled(b)) show(b);
    } catch (err) {
      // Not reaching the server is the stream's problem too: it drops, and polling takes over.
      if (err instanceof ApiError) {
        fatal = err;
        stop.abort();
      }
    }
  };

  let check: NodeJS.Timeout | null = null;
  let opened = false;
  try {
    try {
      await readStream(
        api,
        stop.signal,
        async () => {
          opened = true;
          // The stream is open: what happens from now on arrives as events; read what happened before.
          await read();
          check = setInterval(() => void read(), o.checkMs ?? 5000);
        },
        async (event) => {
          if (event.type !== 'batch.updated') return;
          const data = event.data as { id?: unknown; batchId?: unknown } | null;
          if (data?.id !== id && data?.batchId !== id) return;
          if (isBatch(data)) show(data);
          else await read();
        },
      );
      if (!stop.signal.aborted) o.onFallback?.('the stream closed');
    } catch (err) {
      if (err instanceof ApiError && err.status !== 404 && err.status < 500) throw err;
      const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      o.onFallback?.(opened ? `the stream dropped (${why})` : `the stream could not be opened (${why})`);
    }
  } finally {
    if (check) clearInterval(check);
  }
  if (fatal) throw fatal;

  let lastReached = Date.now();
  while (!o.signal.aborted && !(latest !== null && isSettled(latest))) {
    if (latest !== null) await sleep(o.pollMs ?? 1000, undefined, { signal: o.signal }).catch(() => undefined);
    if (o.signal.aborted) break;
    try {
      show(await getBatch(api, id));
      lastReached = Date.now();
    } catch (err) {
      if (err instanceof ApiError || Date.now() - lastReached > (o.patienceMs ?? 30_000)) throw err;
    }
  }
  o.signal.removeEventListener('abort', abort);
  return o.signal.aborted ? null : latest;
}
