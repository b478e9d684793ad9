/** `statusflow demo` (placeholder until the sandboxes land). */
import { CliError } from './exit.js';

import type { Config } from '../config.js';

export function demo(_config: Config): Promise<void> {
  return Promise.reject(new CliError('statusflow demo is not available yet'));
}
