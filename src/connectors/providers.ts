/** Every provider a connection may use, by name: its config and secrets schemas and its credentials check. */
import type { Provider, ProviderName } from './types.js';
import { hubspotProvider } from './hubspot/provider.js';
import { dropboxProvider } from './dropbox/provider.js';
import { httpProvider } from './http/provider.js';

const ALL: readonly Provider[] = [hubspotProvider, dropboxProvider, httpProvider];

export const PROVIDERS: ReadonlyMap<ProviderName, Provider> = new Map(ALL.map((p) => [p.name, p]));

/** The provider of `name`, or undefined when no provider has that name. */
export function providerNamed(name: string): Provider | undefined {
  return PROVIDERS.get(name as ProviderName);
}
