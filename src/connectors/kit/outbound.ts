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
 * target of every redirect (each opens its own connection). An IPv6 address that stands for an IPv4 one
 * (`::`, `::1`, mapped, NAT64, 6to4…: embeddedIPv4) is checked as that IPv4 address as well.
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

/**
 * True when connecting to `address` (an IP) is not allowed. An IPv6 address that stands for an IPv4 one is
 * also checked as that IPv4 address (see embeddedIPv4), so `127.0.0.0/8` refuses `[::1]` and `[::ffff:7f00:1]`
 * too, and `0.0.0.0/8` refuses `[::]`.
 */
export function isDenied(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (denied.list.check(address, family === 6 ? 'ipv6' : 'ipv4')) return true;
  return family === 6 && embeddedIPv4(address).some((v4) => denied.list.check(v4, 'ipv4'));
}

/** The eight 16-bit groups of an IPv6 address (a zone id dropped, a dotted IPv4 tail read); undefined if unreadable. */
function groupsOf(address: string): number[] | undefined {
  const text = address.split('%')[0]!.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const hex = dotted ? `${text.slice(0, dotted.index)}${((+dotted[1]! << 8) | +dotted[2]!).toString(16)}:${((+dotted[3]! << 8) | +dotted[4]!).toString(16)}` : text;
  const [head = '', tail] = hex.split('::');
  const part = (p: string): number[] => (p === '' ? [] : p.split(':').map((g) => parseInt(g, 16)));
  const [before, after] = [part(head), part(tail ?? '')];
  const groups = tail === undefined ? before : [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

const dottedQuad = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/**
 * The IPv4 addresses an IPv6 address stands for or leads to, checked against the IPv4 entries:
 * - `::` (unspecified; a connection to it reaches this host, like 0.0.0.0) → 0.0.0.0; `::1` (loopback) → 127.0.0.1;
 * - IPv4-mapped `::ffff:0:0/96`, IPv4-translated `::ffff:0:0:0/96` and the deprecated IPv4-compatible `::/96`;
 * - NAT64 `64:ff9b::/96` and the local-use `64:ff9b:1::/48` (RFC 6052, 8215), where a NAT64 gateway forwards to the IPv4;
 * - 6to4 `2002::/16` (the IPv4 in groups 2–3) and Teredo `2001::/32` (the server in groups 2–3, the client
 *   inverted in groups 6–7), which tunnel to it.
 */
export function embeddedIPv4(address: string): string[] {
  const g = groupsOf(address);
  if (!g) return [];
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const zeroTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(7) && g7 === 0) return ['0.0.0.0'];
  if (zeroTo(7) && g7 === 1) return ['127.0.0.1'];
  if (zeroTo(5) && (g5 === 0xffff || g5 === 0)) return [dottedQuad(g6, g7)];
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return [dottedQuad(g6, g7)];
  if (g0 === 0x64 && g1 === 0xff9b && (g2 === 1 || (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0))) return [dottedQuad(g6, g7)];
  if (g0 === 0x2002) return [dottedQuad(g1, g2)];
  if (g0 === 0x2001 && g1 === 0) return [dottedQuad(g2, g3), dottedQuad(g6 ^ 0xffff, g7 ^ 0xffff)];
  return [];
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
