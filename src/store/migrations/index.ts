/** Every migration, in order. Each is plain SQL per dialect, reviewed as SQL. */
import { migration as m001 } from './001_foundation.js';
import { migration as m002 } from './002_processes.js';
import { migration as m003 } from './003_connections.js';
import { migration as m004 } from './004_secret_key.js';
import { migration as m005 } from './005_run_chain.js';
import { migration as m006 } from './006_retention.js';
import { migration as m007 } from './007_batches.js';
import { migration as m008 } from './008_console_figures.js';
import { migration as m009 } from './009_batch_progress.js';

export interface Migration {
  id: number;
  name: string;
  sqlite: string;
  postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009];
