#!/usr/bin/env node
/** The `statusflow` command. */
import { ConfigError, loadConfig } from '../config.js';
import { migrateCommand } from './migrate.js';
import { start } from './start.js';

const USAGE = `usage: statusflow <command>

commands:
  start     run the API server (embedded SQLite unless DATABASE_URL is set)
  migrate   apply database migrations and exit

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
  console.error(`unknown command "${command}"\n\n${USAGE}`);
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`configuration error: ${err.message}`);
  else console.error(err);
  process.exit(1);
});
