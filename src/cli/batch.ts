/**
 * `statusflow batches`: recent batches. `statusflow batch <id>`: one batch with its items by outcome
 * and its first failed items; `--pause`, `--resume`, `--cancel`, `--retry-failed` act on it (API.md
 * "Batches") and `--follow` follows it to its end, alone or after one of them.
 */
import type { Command } from 'commander';
import { ACTIONS, batchPath, creator, describeFilter, ended, getBatch, type Batch, type BatchAction } from './batch-api.js';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit.js';
import { printJson, printTable, took, when } from './output.js';
import { duration } from './progress.js';

interface Flags {
  follow?: boolean;
  pause?: boolean;
  resume?: boolean;
  cancel?: boolean;
  retryFailed?: boolean;
  json?: boolean;
}

const FLAG: Record<BatchAction, keyof Flags> = { pause: 'pause', resume: 'resume', cancel: 'cancel', 'retry-failed': 'retryFailed' };
const DONE: Record<BatchAction, string> = { pause: 'paused: no new run starts; runs already running finish', resume: 'resumed', cancel: 'cancelled: items not started are cancelled; runs already running finish', 'retry-failed': 'failed items queued again' };

/** One batch as people read it: a header, its items by outcome, and the first failed ones. */
async function printBatch(api: ApiClient, b: Batch, self: string): Promise<void> {
  const out = [
    `batch ${b.id}`,
    `  process   ${b.process}`,
    `  filter    ${describeFilter(b.filter)}`,
    `  status    ${b.status}${b.status === 'running' || b.status === 'paused' ? ` (${ended(b)} of ${b.total} done${typeof b.etaSeconds === 'number' ? `, about ${duration(b.etaSeconds)} left` : ''})` : ''}`,
    `  created   ${when(b.createdAt)}${b.createdBy ? ` by ${creator(b)}` : ''}`,
  ];
  if (b.startedAt) out.push(`  started   ${when(b.startedAt)}`);
  if (b.finishedAt) out.push(`  finished  ${when(b.finishedAt)} (${took(b.startedAt ?? b.createdAt, b.finishedAt)})`);
  out.push('', `items: ${b.total}`);
  for (const k of ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const) out.push(`  ${k.padEnd(10)} ${String(b[k] ?? 0).padStart(String(b.total).length)}`);
  if (b.failed > 0) {
    const { failedItems, failedLines } = await import('./batch-watch.js');
    const items = await failedItems(api, b.id, 10);
    out.push('', `failed items${b.failed > items.length ? ` (the first ${items.length} of ${b.failed})` : ''}:`, ...failedLines(items));
    out.push(`retry them: ${self} batch ${b.id} --retry-failed --follow`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export function registerBatches(program: Command, client: () => ApiClient): void {
  program
    .command('batches')
    .description('list recent batches, newest first')
    .option('--process <key>', 'only batches of this process')
    .option('--status <status>', 'only batches in this status (running, paused, cancelled, completed; comma-separated for several)')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print the API items as JSON')
    .action(async (o: { process?: string; status?: string; limit: string; json?: boolean }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit must be a positive integer', EXIT.usage);
      const query = new URLSearchParams();
      if (o.process) query.set('process', o.process);
      if (o.status) query.set('status', o.status);
      const batches = await client().all<Batch>(`/api/v1/batches?${query.toString()}`, limit);
      if (o.json) return printJson(batches);
      await printTable(
        batches,
        [
          ['ID', (b) => b.id],
          ['PROCESS', (b) => b.process],
          ['STATUS', (b) => b.status],
          ['DONE', (b) => `${ended(b)}/${b.total}`],
          ['SUCCEEDED', (b) => b.succeeded],
          ['FAILED', (b) => b.failed],
          ['SKIPPED', (b) => b.skipped],
          ['CANCELLED', (b) => b.cancelled],
          ['CREATED', (b) => when(b.createdAt)],
          ['TOOK', (b) => took(b.startedAt ?? b.createdAt, b.finishedAt)],
        ],
        'no batches yet: start one with "statusflow process <process> --status <status>"',
      );
    });
}

export function registerBatch(program: Command, client: () => ApiClient, self: () => string): void {
  program
    .command('batch')
    .description('show one batch; or follow, pause, resume or cancel it, or retry its failed items (exit 3 when a followed batch has failed items)')
    .argument('<id>', 'batch id')
    .option('--follow', 'show progress until the batch has finished, then a summary (also after --resume or --retry-failed)')
    .option('--pause', 'no new run starts; runs already running finish')
    .option('--resume', 'start runs again after --pause')
    .option('--cancel', 'cancel the items not started yet')
    .option('--retry-failed', 'queue the failed items again')
    .option('--json', 'print the batch as JSON')
    .action(async (id: string, o: Flags) => {
      const chosen = ACTIONS.filter((a) => o[FLAG[a]]);
      if (chosen.length > 1) throw new CliError(`${chosen.map((a) => `--${a}`).join(' and ')} exclude each other`, EXIT.usage);
      const api = client();
      const action = chosen[0];
      if (action) {
        await api.post<unknown>(`${batchPath(id)}/${action}`);
        if (!o.json) process.stdout.write(`batch ${id} ${DONE[action]}\n`);
      }
      // Loaded when used, as the progress and the stream reader it brings.
      if (o.follow) return (await import('./batch-watch.js')).watchBatch(api, id, { json: o.json, self: self() });
      const b = await getBatch(api, id);
      if (o.json) return printJson(b);
      if (!action) return printBatch(api, b, self());
      // After an action, where the batch stands in one line (`batch <id>` shows the rest).
      const running = b.running + b.queued > 0 ? `; ${b.running + b.queued} run(s) queued or running` : '';
      process.stdout.write(`  ${b.status}, ${ended(b)} of ${b.total} done: ${b.succeeded} succeeded, ${b.failed} failed, ${b.skipped} skipped, ${b.cancelled} cancelled${running}\n`);
    });
}
