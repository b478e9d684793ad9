/**
 * bench/batch's HubSpot sandbox in a process of its own (forked by run.ts with an IPC channel), so that the
 * Statusflow server's peak RSS is the server's alone: 100,000 deals in the fake hold ~48 MB, which no user's
 * server carries. argv[2] is JSON `{rateLimit?, latencyMs?}`.
 *
 * Messages: the child sends `{type: 'ready', url, token}` once listening; on `{type: 'stats'}` it answers
 * `{type: 'stats', requestCounts, rateLimited, deals}`; on `{type: 'close'}` it closes the server and exits.
 */
import { startSandboxHubSpot } from '../../src/sandbox/hubspot.js';

export interface SandboxChildOptions {
  rateLimit?: { requests: number; perMs: number };
  latencyMs?: number;
}

export type SandboxChildMessage =
  | { type: 'ready'; url: string; token: string }
  | { type: 'stats'; requestCounts: Array<[string, number]>; rateLimited: number; deals: number };

const o = JSON.parse(process.argv[2] ?? '{}') as SandboxChildOptions;
const hs = await startSandboxHubSpot({
  uniqueProperties: { deals: ['statusflow_id'] },
  recordRequests: false,
  rateLimit: { ...(o.rateLimit ?? { requests: 1_000_000, perMs: 10_000 }), daily: 10_000_000 },
});
hs.faults.latencyMs = o.latencyMs ?? 0;
const send = (m: SandboxChildMessage) => process.send!(m);

process.on('message', (m: { type: string }) => {
  if (m.type === 'stats') send({ type: 'stats', requestCounts: [...hs.requestCounts], rateLimited: hs.rateLimited, deals: hs.state.objects.get('deals')!.size });
  if (m.type === 'close') void hs.close().then(() => process.exit(0));
});
// The parent went away without saying so: do not linger.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', url: hs.url, token: hs.token });
