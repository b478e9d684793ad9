/**
 * `statusflow apply -f <file> [--dry-run] [--prune]`: sends a definitions file (YAML or JSON) to
 * `POST /api/v1/apply`. `${NAME}` in a connection's secrets is replaced by the environment variable
 * NAME here, in the client, so tokens stay out of the file and the server never reads its own
 * environment for anyone.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit.js';
import { printJson } from './output.js';

interface Ref {
  kind: string;
  key: string;
}

export interface ApplyReport {
  dryRun: boolean;
  created: Ref[];
  updated: Ref[];
  unchanged: Ref[];
  deleted: Ref[];
  warnings?: Array<{ path: string; message: string }>;
  diffs?: Array<Ref & { change: string; diff: string }>;
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${NAME}` in every string under `connections[].secrets`; an unset variable is an error naming where it is used. */
export function resolveReferences(doc: unknown, variable: (name: string) => string | undefined): unknown {
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { connections?: unknown }).connections)) return doc;
  const missing: string[] = [];
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') {
      return value.replace(REFERENCE, (whole, name: string) => {
        const found = variable(name);
        if (found === undefined) missing.push(`${name} (${path})`);
        return found ?? whole;
      });
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, `${path}.${k}`)]));
    return value;
  };
  const connections = (doc as { connections: unknown[] }).connections.map((c, i) => {
    if (typeof c !== 'object' || c === null || !('secrets' in c)) return c;
    return { ...c, secrets: walk((c as { secrets: unknown }).secrets, `connections[${i}].secrets`) };
  });
  if (missing.length > 0) throw new CliError(`environment variable${missing.length > 1 ? 's' : ''} not set: ${missing.join(', ')}`);
  return { ...doc, connections };
}

/** Reads a YAML or JSON definitions file (YAML is a superset of JSON). */
export async function readDefinitions(file: string): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new CliError(`${file} is not valid YAML or JSON: ${doc.errors[0]!.message}`);
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

export function printReport(report: ApplyReport): void {
  const lines: string[] = [];
  const verb = report.dryRun ? { created: 'would create', updated: 'would update', deleted: 'would delete' } : { created: 'created', updated: 'updated', deleted: 'deleted' };
  for (const change of ['created', 'updated', 'deleted'] as const) for (const o of report[change]) lines.push(`${verb[change].padEnd(12)} ${o.kind} ${o.key}`);
  for (const o of report.unchanged) lines.push(`${'unchanged'.padEnd(12)} ${o.kind} ${o.key}`);
  for (const w of report.warnings ?? []) lines.push(`warning      ${w.path}: ${w.message}`);
  for (const d of report.diffs ?? []) lines.push('', d.diff.trimEnd());
  const changes = report.created.length + report.updated.length + report.deleted.length;
  lines.push('', report.dryRun ? `dry run: ${changes} change(s), nothing written` : `${changes} change(s) applied, ${report.unchanged.length} unchanged`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerApply(program: Command, client: () => ApiClient, variable: (name: string) => string | undefined): void {
  program
    .command('apply')
    .description('apply a definitions file (entity types, connections, processes) all or nothing')
    .requiredOption('-f, --file <file>', 'YAML or JSON file ("-" reads standard input); ${NAME} in connection secrets is taken from the environment')
    .option('--dry-run', 'show what would change, with diffs, and write nothing')
    .option('--prune', 'also delete the entity types, connections and processes the file no longer has')
    .option('--json', 'print the report as JSON')
    .action(async (o: { file: string; dryRun?: boolean; prune?: boolean; json?: boolean }) => {
      const doc = resolveReferences(await readDefinitions(o.file), variable);
      const query = [o.dryRun ? 'dryRun=true' : '', o.prune ? 'prune=true' : ''].filter(Boolean).join('&');
      const report = await client().post<ApplyReport>(`/api/v1/apply${query ? `?${query}` : ''}`, doc);
      if (o.json) printJson(report);
      else printReport(report);
      process.exitCode = EXIT.ok;
    });
}
