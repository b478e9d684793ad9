/** `statusflow migrate`: apply pending migrations and exit. */
import type { Config } from '../config.js';
import { openConfiguredDatabase } from './runtime.js';
import { migrate } from '../store/migrate.js';

export async function migrateCommand(config: Config): Promise<void> {
  const database = openConfiguredDatabase(config);
  try {
    const applied = await migrate(database);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await database.close();
  }
}
