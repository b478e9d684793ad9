/** `statusflow runs [--process p] [--status s] [--entity id] [--limit n]`: recent runs, newest first. */
import type { Command } from 'commander';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit.js';
import { printJson, printTable, text, took, when } from './output.js';

export interface RunSummary {
  id: string;
  process: string;
  processVersion: number;
  entityId: string;
  entityType: string;
  status: string;
  trigger: { type: string; status?: string };
  attempt: number;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: { code: string; message: string } | null;
}

export function registerRuns(program: Command, client: () => ApiClient): void {
  program
    .command('runs')
    .description('list runs, newest first')
    .option('--process <key>', 'only runs of this process')
    .option('--status <status>', 'only runs in this status (queued, running, waiting, succeeded, failed, cancelled; comma-separated for several)')
    .option('--entity <id>', 'only runs for this entity')
    .option('--limit <n>', 'at most this many (default 50)', '50')
    .option('--json', 'print the API items as JSON')
    .action(async (o: { process?: string; status?: string; entity?: string; limit: string; json?: boolean }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit must be a positive integer', EXIT.usage);
      const query = new URLSearchParams();
      if (o.process) query.set('process', o.process);
      if (o.status) query.set('status', o.status);
      if (o.entity) query.set('entity', o.entity);
      const runs = await client().all<RunSummary>(`/api/v1/runs?${query.toString()}`, limit);
      if (o.json) return printJson(runs);
      await printTable(
        runs,
        [
          ['ID', (r) => r.id],
          ['PROCESS', (r) => `${r.process} v${r.processVersion}`],
          ['ENTITY', (r) => `${r.entityType}/${r.entityId}`],
          ['STATUS', (r) => r.status],
          ['TRIGGER', (r) => (r.trigger.status ? `${r.trigger.type}:${r.trigger.status}` : r.trigger.type)],
          ['QUEUED', (r) => when(r.queuedAt)],
          ['TOOK', (r) => took(r.startedAt, r.finishedAt)],
          ['ERROR', (r) => (r.error ? text(`${r.error.code}: ${r.error.message}`, 50) : '')],
        ],
        'no runs',
      );
    });
}
