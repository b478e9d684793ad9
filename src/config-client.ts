/**
 * The environment of the `statusflow` client commands (apply, export, types, entities, process, runs,
 * run): where the server is and which key to use. Apart from config.ts because config.ts loads the
 * server's network guard (undici, ~110 ms), and a client command must start in well under 300 ms.
 */

export interface ClientConfig {
  /** Base URL of the Statusflow server (STATUSFLOW_URL, default http://localhost:4600). */
  url: string;
  /** API key (STATUSFLOW_API_KEY); commands fail with a hint when it is needed and absent. */
  apiKey: string | undefined;
  /** Reads an environment variable: what `${NAME}` in an applied file's secrets resolves to (never sent anywhere but the server). */
  variable(name: string): string | undefined;
}

type Env = Record<string, string | undefined>;

export const DEFAULT_URL = 'http://localhost:4600';

export function loadClientConfig(env: Env = process.env): ClientConfig {
  return {
    url: env.STATUSFLOW_URL || DEFAULT_URL,
    apiKey: env.STATUSFLOW_API_KEY || undefined,
    variable: (name) => env[name],
  };
}
