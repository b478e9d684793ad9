/** `statusflow types`: the entity types, with their statuses and requirements. */
import type { Command } from 'commander';
import type { ApiClient } from './client.js';
import { printJson, printTable } from './output.js';

interface EntityType {
  key: string;
  name: string;
  version: number;
  attributes: Array<{ key: string }>;
  statuses: Array<{ key: string; initial: boolean }>;
  requirements: Array<{ key: string }>;
  updatedAt: string;
}

export function registerTypes(program: Command, client: () => ApiClient): void {
  program
    .command('types')
    .description('list the entity types')
    .option('--json', 'print the API items as JSON')
    .action(async (o: { json?: boolean }) => {
      const types = await client().all<EntityType>('/api/v1/entity-types');
      if (o.json) return printJson(types);
      await printTable(
        types,
        [
          ['KEY', (t) => t.key],
          ['NAME', (t) => t.name],
          ['VERSION', (t) => t.version],
          ['STATUSES', (t) => t.statuses.map((s) => (s.initial ? `${s.key}*` : s.key)).join(' ')],
          ['ATTRIBUTES', (t) => t.attributes.length],
          ['REQUIREMENTS', (t) => t.requirements.length],
        ],
        'no entity types yet: define some with "statusflow apply -f <file>"',
      );
    });
}
