/**
 * The Dropbox provider: connection settings `{baseUrl?, contentUrl?, rateLimit?}`, secrets `{accessToken}` or
 * `{refreshToken, appKey, appSecret}` (exactly one form), and a credentials check that reads the account.
 */
import type { Provider } from '../types.js';
import { DropboxConfigSchema, DropboxSecretsSchema, dropboxRpc } from './client.js';

export const dropboxProvider: Provider = {
  name: 'dropbox',
  configSchema: DropboxConfigSchema,
  secretsSchema: DropboxSecretsSchema,
  async test(ctx, signal) {
    // A route without argument: no body at all (as Dropbox's own curl examples send it).
    await dropboxRpc(ctx, 'users/get_current_account', undefined, signal);
  },
};
