/**
 * The HubSpot provider: connection settings `{baseUrl?, rateLimit?, uniqueProperties?, portalId?}`, secret
 * `{accessToken}` (a private app token), and a credentials check that reads one contact.
 */
import type { Provider } from '../types.js';
import { HubSpotConfigSchema, HubSpotSecretsSchema, hubspotRequest } from './client.js';

export const hubspotProvider: Provider = {
  name: 'hubspot',
  configSchema: HubSpotConfigSchema,
  secretsSchema: HubSpotSecretsSchema,
  async test(ctx, signal) {
    await hubspotRequest(ctx, { method: 'GET', path: '/crm/v3/objects/contacts?limit=1' }, signal);
  },
};
