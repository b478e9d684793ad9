/**
 * `statusflow process <process> --entity <id> [--dry-run] [--wait]`: the ad hoc "process entity" of
 * API.md. Without `--entity`, the filters choose the entities and a batch processes them
 * (process-batch.ts).
 */
import type { Command } from 'commander';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit.js';
import { printJson } from './output.js';
import type { BatchFlags } from './process-batch.js';
import { isFinished, printRun, waitForRun, type RunDetail } from './run.js';

/** Options that choose entities for a batch: with `--entity` they are a usage error. */
const FILTER_FLAGS = ['status', 'where', 'ids', 'linked', 'notLinked', 'updatedAfter', 'updatedBefore'] as const;

interface Flags extends BatchFlags {
  entity?: string;
  wait?: boolean;
}

export function registerProcess(program: Command, client: () => ApiClient, self: () => string): void {
  program
    .command('process')
    .description('run a process for one entity (--entity), or as a batch for every entity the filters match, with progress (exit 3 when runs failed)')
    .argument('<process>', 'process key')
    .option('--entity <id>', 'the one entity to process (no batch)')
    .option('--dry-run', 'with --entity: evaluate conditions and inputs and show them, nothing sent or written; else: show what a batch would take, create none')
    .option('--wait', 'with --entity: wait until the run has finished and show its steps')
    .option('--status <statuses>', 'batch: entities in this status (comma-separated for several)')
    .option('--where <expression>', 'batch: entities for which this JSONata condition is true, e.g. "total > 100"')
    .option('--ids <ids>', 'batch: these entities (ids separated by commas)')
    .option('--linked <connection>', 'batch: entities that have a link on this connection')
    .option('--not-linked <connection>', 'batch: entities that have no link on this connection yet')
    .option('--updated-after <time>', 'batch: entities updated after this date or time')
    .option('--updated-before <time>', 'batch: entities updated before this date or time')
    .option('-y, --yes', 'batch: go ahead without asking (needed without a terminal)')
    .option('--detach', 'batch: create it and return; follow it later with "statusflow batch <id> --follow"')
    .option('--json', 'print the run (or the finished batch) as JSON; progress goes to standard error')
    .action(async (key: string, o: Flags) => {
      if (!o.entity) {
        if (o.wait) throw new CliError('--wait is for --entity: a batch is followed to its end unless --detach', EXIT.usage);
        // Loaded when used: `statusflow --help` and the other commands do not pay for it.
        const { processBatch } = await import('./process-batch.js');
        return processBatch(client(), key, o, self());
      }
      const mixed = FILTER_FLAGS.filter((f) => o[f] !== undefined);
      if (mixed.length > 0 || o.yes || o.detach) {
        throw new CliError(`--entity processes one entity: ${[...mixed.map(flag), ...(o.yes ? ['--yes'] : []), ...(o.detach ? ['--detach'] : [])].join(', ')} belong to a batch (leave out --entity)`, EXIT.usage);
      }
      const api = client();
      const process_ = await api.get<{ entityType: string }>(`/api/v1/processes/${encodeURIComponent(key)}`);
      const path = `/api/v1/entities/${encodeURIComponent(process_.entityType)}/${encodeURIComponent(o.entity)}/process`;
      let { run } = await api.post<{ run: RunDetail }>(path, { process: key, dryRun: Boolean(o.dryRun), wait: Boolean(o.wait) });
      if (o.wait && !o.dryRun && run.id && !isFinished(run)) run = await waitForRun(api, run.id);
      if (o.json) printJson(run);
      else {
        if (!o.wait && !o.dryRun) process.stdout.write(`queued run ${run.id}; follow it with: statusflow run ${run.id}\n`);
        else printRun(run);
      }
      if ((o.wait || o.dryRun) && (run.status === 'failed' || run.status === 'cancelled')) process.exitCode = EXIT.someFailed;
    });
}

/** `notLinked` → `--not-linked`. */
function flag(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
