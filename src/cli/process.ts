/**
 * `statusflow process <process> --entity <id> [--dry-run] [--wait]`: the ad hoc "process entity" of
 * API.md. The form over many entities (`--status`, `--where`) creates a batch, which does not exist
 * yet: it is refused with a usage error rather than guessed at.
 */
import type { Command } from 'commander';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit.js';
import { printJson } from './output.js';
import { isFinished, printRun, waitForRun, type RunDetail } from './run.js';

export function registerProcess(program: Command, client: () => ApiClient): void {
  program
    .command('process')
    .description('run a process for one entity now (exit 3 when the waited-for run fails)')
    .argument('<process>', 'process key')
    .option('--entity <id>', 'the entity to process')
    .option('--dry-run', 'evaluate conditions and inputs and show them; nothing is sent or written')
    .option('--wait', 'wait until the run has finished and show its steps')
    .option('--json', 'print the run as JSON')
    .action(async (key: string, o: { entity?: string; dryRun?: boolean; wait?: boolean; json?: boolean }) => {
      if (!o.entity) throw new CliError('give --entity <id> (processing many entities at once needs batches, which this version does not have)', EXIT.usage);
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
