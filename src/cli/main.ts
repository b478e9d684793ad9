#!/usr/bin/env node
/** The `statusflow` command. */
import { ConfigError, loadConfig } from '../config.js';
import { migrateCommand } from './migrate.js';
import { start } from './start.js';
import { vacuumCommand } from './vacuum.js';
import { worker } from './worker.js';

const USAGE = `usage: statusflow <command>

commands:
  start     run the API server and workers (embedded SQLite unless DATABASE_URL is set)
  worker    run workers only (scale out on Postgres)
  migrate   apply database migrations and exit
  vacuum    SQLite: rebuild the database once so pruned space is given back (server stopped)

environment: PORT, HOST, STATUSFLOW_DATA_DIR, DATABASE_URL, STATUSFLOW_ADMIN_KEY, LOG_LEVEL (see README)`;

async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  if (command === 'start') return start(config);
  if (command === 'migrate') return migrateCommand(config);
  if (command === 'worker') return worker(config);
  if (command === 'vacuum') return vacuumCommand(config);
  console.error(`unknown command "${command}"\n\n${USAGE}`);
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`configuration error: ${err.message}`);
  else console.error(err);
  process.exit(1);
});
