/** `statusflow entities <type> [--status s] [--where expr] [--limit n]`: the entities of a type. */
import type { Command } from 'commander';
import type { ApiClient } from './client.js';
import { CliError, EXIT } from './exit.js';
import { printJson, printTable, text, when } from './output.js';

interface Entity {
  id: string;
  status: string;
  version: number;
  attributes: Record<string, unknown>;
  updatedAt: string;
}

export function registerEntities(program: Command, client: () => ApiClient): void {
  program
    .command('entities')
    .description('list the entities of a type')
    .argument('<type>', 'entity type key')
    .option('--status <status>', 'only entities in this status')
    .option('--where <expression>', 'only entities for which this JSONata condition is true, e.g. "total > 100"')
    .option('--limit <n>', 'at most this many (default 50)', '50')
    .option('--json', 'print the API items as JSON')
    .action(async (type: string, o: { status?: string; where?: string; limit: string; json?: boolean }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit must be a positive integer', EXIT.usage);
      const query = new URLSearchParams();
      if (o.status) query.set('status', o.status);
      if (o.where) query.set('where', o.where);
      const items = await client().all<Entity>(`/api/v1/entities/${encodeURIComponent(type)}?${query.toString()}`, limit);
      if (o.json) return printJson(items);
      await printTable(
        items,
        [
          ['ID', (e) => e.id],
          ['STATUS', (e) => e.status],
          ['VERSION', (e) => e.version],
          ['UPDATED', (e) => when(e.updatedAt)],
          ['ATTRIBUTES', (e) => text(e.attributes, 70)],
        ],
        `no ${type} entities${o.status || o.where ? ' match' : ''}`,
      );
    });
}
