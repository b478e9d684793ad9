/** `statusflow export [-o file] [--format yaml|json]`: the organization's definitions, as `apply -f` takes them (no secret values). */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit.js';

export function registerExport(program: Command, client: () => ApiClient): void {
  program
    .command('export')
    .description('print (or write) every entity type, connection and process as a definitions file; secrets show only as "set"')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .option('--format <format>', 'yaml or json (default: json for a .json file, else yaml)')
    .option('--json', 'same as --format json')
    .action(async (o: { output?: string; format?: string; json?: boolean }) => {
      const format = o.json ? 'json' : (o.format ?? (o.output?.endsWith('.json') ? 'json' : 'yaml'));
      if (format !== 'yaml' && format !== 'json') throw new CliError(`--format must be yaml or json, not "${format}"`, EXIT.usage);
      const text =
        format === 'json'
          ? `${JSON.stringify(await client().get('/api/v1/export'), null, 2)}\n`
          : await client().request<string>('GET', '/api/v1/export?format=yaml', undefined, undefined, 'application/yaml');
      if (!o.output) {
        process.stdout.write(text);
        return;
      }
      try {
        writeFileSync(o.output, text);
      } catch (err) {
        throw new CliError(`cannot write ${o.output}: ${(err as Error).message}`);
      }
      process.stderr.write(`wrote ${o.output}\n`);
    });
}
