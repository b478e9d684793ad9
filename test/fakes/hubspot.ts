/** The HubSpot fake of the tests is the shipped sandbox (src/sandbox/hubspot.ts), under its test names. */
export {
  startSandboxHubSpot as startFakeHubSpot,
  type SandboxHubSpot as FakeHubSpot,
  type SandboxHubSpotOptions as FakeHubSpotOptions,
  type HubSpotAssociation,
  type HubSpotObject,
  type HubSpotObjectType,
  type HubSpotRateLimit,
} from '../../src/sandbox/hubspot.js';
