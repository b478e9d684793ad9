/**
 * `statusflow process <process> [filters] [--yes]` without `--entity`: a batch over every entity the
 * filters match (API.md "Batches"). It shows how many match (`POST /batches/preview`), asks y/N on a
 * terminal (elsewhere it needs `--yes`: a script never waits on a prompt, nor processes thousands
 * of entities by accident), creates the batch and follows it to the end (batch-watch.ts).
 */
import { createInterface } from 'node:readline/promises';
import { describeFilter, type Batch, type BatchFilter } from './batch-api.js';
import { controlLines, watchBatch } from './batch-watch.js';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit.js';
import { printJson, text } from './output.js';

export interface BatchFlags {
  status?: string;
  where?: string;
  ids?: string;
  linked?: string;
  notLinked?: string;
  updatedAfter?: string;
  updatedBefore?: string;
  yes?: boolean;
  dryRun?: boolean;
  detach?: boolean;
  json?: boolean;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function time(flag: string, value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new CliError(`${flag} takes a date or time, e.g. 2026-12-01 or 2026-12-01T08:00:00Z (got "${value}")`, EXIT.usage);
  return new Date(ms).toISOString();
}

/** The API's `filter` from the options; usage errors for what cannot be sent. */
export function batchFilter(o: BatchFlags): BatchFilter {
  if (o.linked && o.notLinked) throw new CliError('--linked and --not-linked exclude each other', EXIT.usage);
  const filter: BatchFilter = {};
  if (o.status !== undefined) filter.status = list(o.status);
  if (o.where !== undefined) filter.where = o.where;
  if (o.ids !== undefined) {
    filter.ids = list(o.ids);
    if (filter.ids.length === 0) throw new CliError('--ids takes entity ids separated by commas', EXIT.usage);
  }
  if (o.linked) filter.linked = { connection: o.linked, exists: true };
  if (o.notLinked) filter.linked = { connection: o.notLinked, exists: false };
  if (o.updatedAfter) filter.updatedAfter = time('--updated-after', o.updatedAfter);
  if (o.updatedBefore) filter.updatedBefore = time('--updated-before', o.updatedBefore);
  return filter;
}

interface Preview {
  total: number;
  sample: Array<{ id: string; type?: string; status?: string; attributes?: unknown }>;
}

/** y/N on the terminal (standard error, so standard output stays for the result); Ctrl-C is a no. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const ctrlC = new AbortController();
  rl.on('SIGINT', () => ctrlC.abort());
  try {
    return /^y(es)?$/i.test((await rl.question(question, { signal: ctrlC.signal })).trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

export async function processBatch(api: ApiClient, key: string, o: BatchFlags, self: string): Promise<void> {
  const filter = batchFilter(o);
  const body = { process: key, filter };
  const preview = await api.post<Preview>('/api/v1/batches/preview', body);
  if (o.dryRun && o.json) return printJson(preview);
  // With --json, standard output carries only the JSON: the rest goes to standard error.
  const say = (lines: string[]): void => void (o.json ? process.stderr : process.stdout).write(lines.map((l) => `${l}\n`).join(''));
  const what = `${preview.total} entit${preview.total === 1 ? 'y' : 'ies'} match ${describeFilter(filter)}`;
  const sample = preview.sample.slice(0, 5).map((e) => `  ${e.id}  ${e.status ?? ''}  ${text(e.attributes, 70)}`);
  say([`process ${key}: ${what}`, ...(sample.length > 0 ? [`for example:`, ...sample] : [])]);
  if (o.dryRun) return say(['dry run: no batch created']);
  if (preview.total === 0) return say(['nothing to process: no batch created']);
  if (!o.yes) {
    if (!process.stdin.isTTY || !process.stderr.isTTY) {
      throw new CliError(`not confirmed: ${preview.total} entities would be processed; without a terminal to ask on, pass --yes to go ahead`, EXIT.usage);
    }
    if (!(await confirm(`Run ${key} for these ${preview.total} entities? [y/N] `))) throw new CliError('not confirmed: no batch created');
  }
  const batch = await api.post<Batch>('/api/v1/batches', body);
  if (o.detach) {
    if (o.json) return printJson(batch);
    return say([`batch ${batch.id} created: ${batch.total} items`, ...controlLines(batch.id, self)]);
  }
  say([`batch ${batch.id} created: ${batch.total} items (Ctrl-C stops following; the batch goes on)`]);
  await watchBatch(api, batch.id, { json: o.json, self });
}

