#!/usr/bin/env node
/**
 * The `statusflow` command. `start`, `worker`, `migrate`, `vacuum` and `demo` run the server: their code (and the
 * server's configuration) is imported only when one of them runs. Every other command is a client of
 * the REST API and loads nothing of the server, so `statusflow --help` and the client commands start
 * fast (bench/cli measures it). Exit codes: docs/cli.md and exit.ts.
 */
import { Command, CommanderError } from 'commander';
import { loadClientConfig } from '../config-client.js';
import { registerApply } from './apply.js';
import { registerBatch, registerBatches } from './batch.js';
import { ApiClient } from './client.js';
import { registerEntities } from './entities.js';
import { CliError, EXIT } from './exit.js';
import { registerExport } from './export.js';
import { registerProcess } from './process.js';
import { registerRun } from './run.js';
import { registerRuns } from './runs.js';
import { registerTypes } from './types.js';
import { CLI_VERSION } from './version.js';

const ENVIRONMENT = `
Exit codes: 0 ok, 1 error (the server's error code is printed), 2 wrong usage, 3 some items failed
(or were cancelled), 130 stopped following a batch with Ctrl-C (the batch goes on).

Client commands talk to the server at --url (STATUSFLOW_URL, default http://localhost:4600)
with the API key --key (STATUSFLOW_API_KEY). Server commands read PORT, HOST, STATUSFLOW_DATA_DIR,
DATABASE_URL, STATUSFLOW_ADMIN_KEY, STATUSFLOW_SECRET_KEY, LOG_LEVEL (see docs/operating.md). Every command: docs/cli.md.`;

/** Runs a server command: its module and the server configuration are loaded now, not at start-up. */
async function serverCommand(name: 'start' | 'worker' | 'migrate' | 'vacuum' | 'demo'): Promise<void> {
  const { loadConfig } = await import('../config.js');
  if (name === 'start') return (await import('./start.js')).start(loadConfig());
  if (name === 'worker') return (await import('./worker.js')).worker(loadConfig());
  if (name === 'migrate') return (await import('./migrate.js')).migrateCommand(loadConfig());
  if (name === 'vacuum') return (await import('./vacuum.js')).vacuumCommand(loadConfig());
  const { loadDemoConfig } = await import('../config.js');
  return (await import('./demo.js')).demo(loadDemoConfig());
}

function buildProgram(): Command {
  const config = loadClientConfig();
  const program = new Command('statusflow')
    .description('Statusflow: entities, requirements, statuses and API processes')
    .version(CLI_VERSION, '-v, --version', 'print the version')
    .option('--url <url>', 'the Statusflow server (default: STATUSFLOW_URL or http://localhost:4600)')
    .option('--key <key>', 'API key (default: STATUSFLOW_API_KEY)')
    .addHelpText('after', ENVIRONMENT)
    .showSuggestionAfterError()
    // Usage errors become exit 2 (below) instead of commander's process.exit(1).
    .exitOverride();
  const client = () => {
    const o = program.opts<{ url?: string; key?: string }>();
    return new ApiClient({ url: o.url ?? config.url, apiKey: o.key ?? config.apiKey });
  };
  // How printed hints call this command again: with the --url given (never the key, which is a secret).
  const self = () => {
    const url = program.opts<{ url?: string }>().url;
    return url ? `statusflow --url ${url}` : 'statusflow';
  };

  program.command('start').description('run the API server and workers (embedded SQLite unless DATABASE_URL is set)').action(() => serverCommand('start'));
  program.command('worker').description('run workers only (to scale out on Postgres)').action(() => serverCommand('worker'));
  program.command('migrate').description('apply database migrations and exit').action(() => serverCommand('migrate'));
  program.command('vacuum').description('SQLite: rebuild the database once so pruned space is given back (server stopped)').action(() => serverCommand('vacuum'));
  program
    .command('demo')
    .description('the whole loop with no accounts: a server on embedded SQLite, sandbox HubSpot and Dropbox on loopback, an example applied and sample orders')
    .action(() => serverCommand('demo'));
  registerApply(program, client, config.variable);
  registerExport(program, client);
  registerTypes(program, client);
  registerEntities(program, client);
  registerProcess(program, client, self);
  registerBatches(program, client);
  registerBatch(program, client, self);
  registerRuns(program, client);
  registerRun(program, client);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return;
  }
  await program.parseAsync(argv, { from: 'user' });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Help and version "errors" are commander's way of saying it printed them.
    process.exitCode = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? EXIT.ok : EXIT.usage;
    return;
  }
  if (err instanceof CliError) {
    process.stderr.write(`statusflow: ${err.message}\n${err.lines.map((l) => `${l}\n`).join('')}`);
    process.exitCode = err.exitCode;
    return;
  }
  if (err instanceof Error && err.name === 'ConfigError') process.stderr.write(`configuration error: ${err.message}\n`);
  else if ((err as { code?: unknown }).code === 'EADDRINUSE') process.stderr.write(`statusflow: ${(err as Error).message}: another program uses that port; set PORT to a free one\n`);
  else console.error(err);
  process.exit(EXIT.error);
});
