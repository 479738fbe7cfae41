// Refuses outbound connections to hosts a member typed in or a provider sent (IMAP servers, OAuth token
// endpoints, media URLs) when they resolve to an address inside a private network, so a channel can
// never be used to reach the deployment's own network (SSRF). Checked when the host is saved and again
// at every connect, and each connection dials the very address that was checked (resolved once and
// pinned), so a DNS answer that changes between the check and the connect (rebinding) cannot slip in.
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { config } from '../config.js';

export type HostRefusal = 'private' | 'unresolvable';

export class HostRefusedError extends Error {
  override name = 'HostRefusedError';
  constructor(
    readonly host: string,
    readonly reason: HostRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** [first address, prefix length] of IPv4 ranges that are not the public internet. */
const IPV4_BLOCKED: [string, number][] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function ipv4Blocked(ip: string): boolean {
  const n = ipv4ToInt(ip);
  return IPV4_BLOCKED.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(ipv4ToInt(base) / 2 ** (32 - bits)));
}

/** The 16 bytes of an IPv6 address (zone id dropped, embedded dotted quad allowed). */
function ipv6Bytes(ip: string): number[] {
  let s = ip.split('%')[0]!.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    tail.push(...dotted[1]!.split('.').map(Number));
    s = s.slice(0, -dotted[1]!.length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const groupsWanted = 8 - tail.length / 2;
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const parse = (part: string | undefined) =>
    part
      ? part
          .split(':')
          .filter(Boolean)
          .map((g) => parseInt(g, 16))
      : [];
  const left = parse(head);
  const right = parse(rest);
  const groups = rest === undefined ? left : [...left, ...new Array<number>(groupsWanted - left.length - right.length).fill(0), ...right];
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  return [...bytes, ...tail];
}

function ipv6Blocked(ip: string): boolean {
  const b = ipv6Bytes(ip);
  if (b.length !== 16) return true;
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (from: number) => b.slice(from, from + 4).join('.');
  if (zeros(0, 15) && (b[15] === 0 || b[15] === 1)) return true; // :: and ::1
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return ipv4Blocked(v4(12)); // ::ffff:a.b.c.d (IPv4-mapped)
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12)) return ipv4Blocked(v4(12)); // ::ffff:0:a.b.c.d (IPv4-translated, SIIT)
  if (zeros(0, 12)) return ipv4Blocked(v4(12)); // ::a.b.c.d (IPv4-compatible, deprecated)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zeros(4, 12)) return ipv4Blocked(v4(12)); // 64:ff9b::/96, well-known NAT64
    return true; // 64:ff9b:1::/48, local-use NAT64 (the IPv4 address may sit anywhere), and the rest of 64:ff9b::/32
  }
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) return true; // 2001::/32 Teredo: tunnels to an embedded IPv4 address
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return true; // 2001:db8::/32 documentation
  if (b[0] === 0x20 && b[1] === 0x02) return ipv4Blocked(v4(2)); // 6to4
  if ((b[8] === 0x00 || b[8] === 0x02) && b[9] === 0x00 && b[10] === 0x5e && b[11] === 0xfe && ipv4Blocked(v4(12))) return true; // ISATAP
  if ((b[0]! & 0xfe) === 0xfc) return true; // fc00::/7 unique local
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return true; // fe80::/10 link-local
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return true; // fec0::/10 site-local (deprecated)
  if (b[0] === 0xff) return true; // multicast
  if (b[0] === 0x01 && zeros(1, 8)) return true; // 100::/64 discard
  return false;
}

/** True for loopback, private, link-local, CGNAT, unspecified, multicast and reserved addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address.split('%')[0]!);
  if (family === 4) return ipv4Blocked(address);
  if (family === 6) return ipv6Blocked(address);
  return true;
}

const allowPrivate = () => config().network.allowPrivateHosts;

/** Every address a name resolves to, as the resolver answers. */
export type HostLookup = (host: string) => Promise<string[]>;

const systemLookup: HostLookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
let hostLookup: HostLookup = systemLookup;

/**
 * Puts another resolver in front of every check (tests: a name that fails with EAI_AGAIN, or answers
 * an address, without asking the network); returns the function that puts the system resolver back.
 */
export function setHostLookup(next: HostLookup): () => void {
  hostLookup = next;
  return () => {
    hostLookup = systemLookup;
  };
}

/** Names under the reserved .invalid top-level domain never resolve (RFC 6761 6.4): answered here, nothing is asked of DNS. */
const RESERVED_INVALID = /(^|\.)invalid\.?$/i;

/**
 * Every address the host resolves to (IP literals as they are), or HostRefusedError when it does not
 * resolve or any address is private (unless ALLOW_PRIVATE_NETWORK_HOSTS). The first address is the one
 * to connect to, so the check and the connection use the same answer.
 */
export async function resolvePublicHost(host: string): Promise<string[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (isIP(bare)) addresses = [bare];
  else {
    try {
      if (RESERVED_INVALID.test(bare)) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${bare}`), { code: 'ENOTFOUND' });
      addresses = await hostLookup(bare);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new HostRefusedError(host, 'unresolvable', `${host} does not resolve (${code})`);
    }
    if (addresses.length === 0) throw new HostRefusedError(host, 'unresolvable', `${host} does not resolve`);
  }
  if (!allowPrivate()) {
    const blocked = addresses.find(isPrivateAddress);
    if (blocked !== undefined) {
      throw new HostRefusedError(
        host,
        'private',
        blocked === bare
          ? `${host} is a private, loopback or otherwise non-public address`
          : `${host} resolves to ${blocked}, a private, loopback or otherwise non-public address`,
      );
    }
  }
  return addresses;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request and net.connect that applies the same rule to the addresses the
 * socket actually connects to (a DNS answer that changed since the check is caught here).
 */
export function guardedLookup(hostname: string, options: { all?: boolean } | number, callback: LookupCallback): void {
  resolvePublicHost(hostname).then(
    (addresses) => {
      const all = typeof options === 'object' && options.all;
      const entries = addresses.map((address) => ({ address, family: isIP(address) }));
      if (all) callback(null, entries);
      else callback(null, entries[0]!.address, entries[0]!.family);
    },
    (error: HostRefusedError) => callback(Object.assign(error, { code: error.reason === 'private' ? 'EPRIVATEHOST' : 'ENOTFOUND' }), ''),
  );
}

/** Dials the addresses resolvePublicHost checked, never a fresh DNS answer. */
function pinnedLookup(addresses: string[]) {
  return (_hostname: string, options: { all?: boolean } | number, callback: LookupCallback) => {
    const entries = addresses.map((address) => ({ address, family: isIP(address) }));
    if (typeof options === 'object' && options.all) callback(null, entries);
    else callback(null, entries[0]!.address, entries[0]!.family);
  };
}

export interface PublicFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole request, answer headers included (default 30 s); the body stream is the caller's to bound. */
  timeoutMs?: number;
}

/**
 * fetch() for URLs from outside (media links, webhook and agent endpoints): http(s) only, no
 * credentials in the URL, the host checked by resolvePublicHost and then dialled at the checked
 * address (TLS still verifies the certificate for the host name). Redirects are not followed: a 3xx is
 * returned as it is, for the caller to refuse or to check again.
 */
export async function publicFetch(target: string | URL, init: PublicFetchInit = {}): Promise<Response> {
  const url = new URL(target);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new HostRefusedError(url.hostname, 'private', `${url.protocol} URLs are not fetched`);
  if (url.username || url.password) throw new HostRefusedError(url.hostname, 'private', 'URLs with credentials are not fetched');
  const addresses = await resolvePublicHost(url.hostname);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const timeoutMs = init.timeoutMs ?? 30_000;
  return new Promise<Response>((resolve, reject) => {
    const req = send(url, { method: init.method ?? 'GET', headers: init.headers, lookup: pinnedLookup(addresses), timeout: timeoutMs }, (res) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers as IncomingHttpHeaders)) {
        for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
      }
      // Response refuses statuses outside 200-599; a server that sends one is broken anyway.
      const status = res.statusCode && res.statusCode >= 200 && res.statusCode <= 599 ? res.statusCode : 502;
      const nullBody = status === 204 || status === 304 || (init.method ?? 'GET') === 'HEAD';
      resolve(new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(init.body);
  });
}
