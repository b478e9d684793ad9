/**
 * Which addresses tasks may connect to. Editors write the URLs of `http.request` tasks, so without a
 * guard they could reach what only the server should: the cloud metadata services (credentials of the
 * machine) and other link-local addresses. Denied by default: 0.0.0.0/8, 169.254.0.0/16 (IPv4
 * link-local, AWS/GCP/Azure metadata), 100.100.100.200 (Alibaba metadata), fe80::/10 and
 * fd00:ec2::254 (AWS metadata over IPv6). Loopback and private networks stay allowed: calling one's
 * own services is what the product is for. STATUSFLOW_HTTP_DENY replaces the list (`none`: deny nothing).
 *
 * Checked when a connection is made, on the address itself: an IP in the URL, the addresses DNS gives
 * for a name (so a name that resolves to a denied address is refused, whatever it is called), and the
 * target of every redirect (each opens its own connection).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { buildConnector } from 'undici';

export const DEFAULT_DENIED_NETWORKS: readonly string[] = ['0.0.0.0/8', '169.254.0.0/16', '100.100.100.200/32', 'fe80::/10', 'fd00:ec2::254/128'];

/** A connection refused by the deny list (httpCall turns it into the non-retryable HTTP_ADDRESS_DENIED). */
export class AddressDenied extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(host === address ? `${address} is a denied address` : `${host} resolves to ${address}, a denied address`);
    this.name = 'AddressDenied';
  }
}

/** Parses `a.b.c.d/n` or `x::/n` (a bare address is /32 or /128); throws with the entry at fault. */
export function parseNetworks(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32) || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new Error(`"${entry}" is not a network (write it as 169.254.0.0/16 or fe80::/10)`);
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

let denied = { entries: DEFAULT_DENIED_NETWORKS, list: parseNetworks(DEFAULT_DENIED_NETWORKS) };

/** Replaces the deny list (the CLI passes STATUSFLOW_HTTP_DENY; tests set their own). */
export function setDeniedNetworks(entries: readonly string[]): void {
  denied = { entries: [...entries], list: parseNetworks(entries) };
}

export function deniedNetworks(): readonly string[] {
  return denied.entries;
}

/** True when connecting to `address` (an IP) is not allowed. IPv4-mapped IPv6 addresses match IPv4 entries. */
export function isDenied(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && denied.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup, without the denied addresses; an error when none is left. */
function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const allowed = addresses.filter((a) => !isDenied(a.address));
    if (allowed.length === 0) return callback(new AddressDenied(hostname, addresses[0]?.address ?? hostname) as NodeJS.ErrnoException, []);
    if (options.all) return callback(null, allowed);
    callback(null, allowed[0]!.address, allowed[0]!.family);
  });
}

const connect = buildConnector({ lookup: guardedLookup as never, timeout: 10_000 });

/** undici's connector with the deny list applied: an IP in the URL is checked here, a name by the lookup. */
export function guardedConnect(options: buildConnector.Options, callback: buildConnector.Callback): void {
  const host = options.hostname.startsWith('[') ? options.hostname.slice(1, -1) : options.hostname;
  if (isIP(host) && isDenied(host)) return callback(new AddressDenied(host, host), null);
  connect(options, callback);
}
