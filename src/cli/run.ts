/** `statusflow run <id> [--retry [from]] [--cancel]`: one run with its steps (inputs, outputs, errors, attempts, timings), or retry/cancel it. */
import type { Command } from 'commander';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit.js';
import { printJson, took, when } from './output.js';
import type { RunSummary } from './runs.js';

export interface RunDetail extends Omit<RunSummary, 'id'> {
  id: string | null;
  dryRun?: boolean;
  steps: Array<{ task: string; status: string; attempts?: number; input: unknown; output: unknown; error: { code: string; message: string; retryable?: boolean } | null; startedAt: string | null; finishedAt: string | null }>;
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];

export function isFinished(run: { status: string }): boolean {
  return FINISHED.includes(run.status);
}

function block(label: string, value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const lines = JSON.stringify(value, null, 2).split('\n');
  return lines.length === 1 ? [`    ${label}: ${lines[0]}`] : [`    ${label}:`, ...lines.map((l) => `      ${l}`)];
}

/** A run as people read it: a header, then each step with its input, output, error, attempts and timing. */
export function printRun(run: RunDetail): void {
  const out = [
    `run ${run.id ?? '(dry run: nothing sent or written)'}`,
    `  process   ${run.process} v${run.processVersion}`,
    `  entity    ${run.entityType}/${run.entityId}`,
    `  status    ${run.status}${run.attempt ? ` (attempt ${run.attempt})` : ''}`,
    `  trigger   ${run.trigger.status ? `${run.trigger.type}: entered ${run.trigger.status}` : run.trigger.type}`,
  ];
  if (run.queuedAt) out.push(`  queued    ${when(run.queuedAt)}`);
  if (run.startedAt) out.push(`  started   ${when(run.startedAt)}`);
  if (run.finishedAt) out.push(`  finished  ${when(run.finishedAt)} (${took(run.startedAt, run.finishedAt)})`);
  if (run.error) out.push(`  error     ${run.error.code}: ${run.error.message}`);
  out.push('', run.steps.length === 0 ? 'steps: none yet' : 'steps:');
  for (const s of run.steps) {
    const timing = took(s.startedAt, s.finishedAt);
    out.push(`  ${s.task}  ${s.status}${s.attempts ? `, ${s.attempts} attempt${s.attempts > 1 ? 's' : ''}` : ''}${timing ? `, ${timing}` : ''}`);
    out.push(...block('input', s.input), ...block('output', s.output));
    if (s.error) out.push(`    error: ${s.error.code}: ${s.error.message}${s.error.retryable ? ' (retryable)' : ''}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Polls a run until it has finished (the server's own wait is bounded). */
export async function waitForRun(client: ApiClient, id: string, pollMs = 500): Promise<RunDetail> {
  for (;;) {
    const run = await client.get<RunDetail>(`/api/v1/runs/${encodeURIComponent(id)}`);
    if (isFinished(run)) return run;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export function registerRun(program: Command, client: () => ApiClient): void {
  program
    .command('run')
    .description('show one run with its steps; or retry or cancel it')
    .argument('<id>', 'run id')
    .option('--retry [from]', 'retry a failed or cancelled run: from the failed step (default) or from the "start"')
    .option('--cancel', 'cancel a queued, waiting or running run')
    .option('--json', 'print the API answer as JSON')
    .action(async (id: string, o: { retry?: string | true; cancel?: boolean; json?: boolean }) => {
      if (o.retry && o.cancel) throw new CliError('--retry and --cancel exclude each other', EXIT.usage);
      const from = o.retry === true ? 'failed' : o.retry;
      if (from !== undefined && from !== 'failed' && from !== 'start') throw new CliError('--retry takes "failed" or "start"', EXIT.usage);
      const path = `/api/v1/runs/${encodeURIComponent(id)}`;
      const run = from ? await client().post<RunDetail>(`${path}/retry`, { from }) : o.cancel ? await client().post<RunDetail>(`${path}/cancel`) : await client().get<RunDetail>(path);
      if (o.json) return printJson(run);
      if (from) process.stdout.write(`retrying from ${from === 'start' ? 'the first task' : 'the failed step'}\n`);
      if (o.cancel) process.stdout.write('cancel requested\n');
      printRun(run);
    });
}
