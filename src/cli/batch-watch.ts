/**
 * What `process` (batch form) and `batch <id> --follow` show while a batch runs and when it ends: the
 * progress (progress.ts) on standard error, then a summary on standard output — the counts, how long
 * it took, the first failed items with their error codes and the command that retries them. Ctrl-C
 * stops following only: the batch goes on, and the commands to follow, pause or cancel it are printed.
 */
import { ended, isSettled, type Batch, type BatchItem } from './batch-api.js';
import { followBatch } from './batch-follow.js';
import type { ApiClient, Page } from './client.js';
import { EXIT } from './exit.js';
import { printJson, span, text, took } from './output.js';
import { barReporter, plainReporter, type Reporter } from './progress.js';

/** Exit code of a finished batch: 3 when some items failed or were cancelled. */
export function batchExitCode(b: Batch): number {
  return b.failed > 0 || b.cancelled > 0 ? EXIT.someFailed : EXIT.ok;
}

/** The first `limit` failed items (entity, run, error code). */
export async function failedItems(api: ApiClient, id: string, limit: number): Promise<BatchItem[]> {
  const page = await api.get<Page<BatchItem>>(`/api/v1/batches/${encodeURIComponent(id)}/items?status=failed&limit=${limit}`);
  return page.items;
}

/** Lines naming failed items: `  <entity>  run <run>  CODE: message`. */
export function failedLines(items: BatchItem[]): string[] {
  return items.map((i) => `  entity ${i.entityId}  run ${i.runId ?? '-'}  ${i.error ? text(`${i.error.code}: ${i.error.message}`, 90) : '(no error recorded)'}`);
}

/** The summary of a batch that has finished; `elapsedMs` is what this command saw when the server has no finish time. */
export async function summaryLines(api: ApiClient, b: Batch, self: string, elapsedMs?: number): Promise<string[]> {
  const time = took(b.startedAt ?? b.createdAt, b.finishedAt) || (elapsedMs === undefined ? '' : span(elapsedMs));
  const lines = [
    `batch ${b.id} ${b.status}${time ? ` in ${time}` : ''}: ${b.succeeded} succeeded, ${b.failed} failed, ${b.skipped} skipped, ${b.cancelled} cancelled (${b.total} item${b.total === 1 ? '' : 's'})`,
  ];
  if (b.failed > 0) {
    const items = await failedItems(api, b.id, 5);
    lines.push(`failed${b.failed > items.length ? ` (the first ${items.length} of ${b.failed})` : ''}:`, ...failedLines(items));
    lines.push(`retry the failed items: ${self} batch ${b.id} --retry-failed --follow`);
  }
  return lines;
}

/** The commands for a batch left running (Ctrl-C, or `process --detach`). */
export function controlLines(id: string, self: string): string[] {
  return [`  follow it:  ${self} batch ${id} --follow`, `  pause it:   ${self} batch ${id} --pause`, `  cancel it:  ${self} batch ${id} --cancel`];
}

export interface WatchOptions {
  json?: boolean;
  /** How to call this command again in printed hints: `statusflow`, plus `--url …` when one was given. */
  self: string;
}

/** Follows a batch to its end with progress, prints the summary (or the batch as JSON) and sets the exit code. */
export async function watchBatch(api: ApiClient, id: string, o: WatchOptions): Promise<void> {
  const stderr = process.stderr;
  const reporter: Reporter = stderr.isTTY ? await barReporter(stderr) : plainReporter((line) => stderr.write(`${line}\n`));
  const ctrlC = new AbortController();
  const onSigint = () => ctrlC.abort();
  process.once('SIGINT', onSigint);
  const started = Date.now();
  let last: Batch | null = null;
  let final: Batch | null;
  try {
    final = await followBatch(api, id, {
      signal: ctrlC.signal,
      onUpdate: (b) => {
        last = b;
        reporter.update(b);
      },
      onFallback: (reason) => reporter.notice(`${reason}: polling the batch every second`),
    });
  } finally {
    process.off('SIGINT', onSigint);
    reporter.stop();
  }
  if (!final) {
    const seen = last as Batch | null;
    const where = seen && !isSettled(seen) ? ` (${ended(seen)} of ${seen.total} items done)` : '';
    stderr.write([`stopped following; batch ${id} keeps running${where}`, ...controlLines(id, o.self)].map((l) => `${l}\n`).join(''));
    process.exitCode = EXIT.interrupted;
    return;
  }
  if (o.json) printJson(final);
  else process.stdout.write(`${(await summaryLines(api, final, o.self, Date.now() - started)).join('\n')}\n`);
  process.exitCode = batchExitCode(final);
}
