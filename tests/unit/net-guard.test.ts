// The private-network guard: every IPv6 form that embeds or tunnels to an IPv4 address is judged by
// that address (or refused outright when it cannot be told), and an outbound fetch dials the
// address that was checked, so a DNS answer that changes after the check cannot redirect it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

const answers: string[][] = [];
vi.mock('node:dns/promises', async (original) => {
  const real = await original<typeof import('node:dns/promises')>();
  return {
    ...real,
    lookup: vi.fn(async (host: string, options: unknown) => {
      if (host.endsWith('.rebind.test')) return (answers.shift() ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      return real.lookup(host, options as never);
    }),
  };
});

const { config, parseConfig, setConfig } = await import('../../lib/config.js');
const { lookup } = await import('node:dns/promises');
const { HostRefusedError, isPrivateAddress, publicFetch } = await import('../../lib/channels/net-guard.js');

describe('IPv6 forms of private IPv4 addresses', () => {
  it('refuses IPv4-translated, NAT64 (well-known and local-use), Teredo, 6to4 and ISATAP forms of private addresses', () => {
    const blocked = [
      '::ffff:0:10.0.0.1',
      '::ffff:0:a00:1',
      '::ffff:0:127.0.0.1',
      '::ffff:0:7f00:1',
      '::ffff:0:169.254.169.254',
      '64:ff9b::127.0.0.1',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b:1::a00:1',
      '64:ff9b:1:fffe::7f00:1',
      '64:ff9b:1:a00:1::',
      '2001::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      '2001:0:a00:1::',
      '2002:a00:1::1',
      '2002:7f00:1::',
      '2002:a9fe:a9fe::1',
      '2001:db8::1',
      '2a00:1450::5efe:10.0.0.1',
      '2a00:1450::200:5efe:7f00:1',
    ];
    for (const a of blocked) expect(isPrivateAddress(a), a).toBe(true);
  });

  it('still allows those forms of public addresses and ordinary public IPv6', () => {
    for (const a of [
      '::ffff:0:8.8.8.8',
      '64:ff9b::8.8.8.8',
      '2002:808:808::1',
      '2a00:1450::5efe:8.8.8.8',
      '2a00:1450:4001:81c::200e',
      '2606:4700:4700::1111',
    ]) {
      expect(isPrivateAddress(a), a).toBe(false);
    }
  });
});

describe('publicFetch', () => {
  let server: Server;
  let port: number;
  const saved = config();
  beforeAll(async () => {
    server = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello ${req.headers.host}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    setConfig(saved);
    answers.length = 0;
    vi.mocked(lookup).mockClear();
  });

  it('resolves once and dials the checked address, whatever a second DNS answer would say', async () => {
    setConfig(parseConfig({ ALLOW_PRIVATE_NETWORK_HOSTS: 'true' }));
    // First answer: the server. A second lookup would get an address where nothing listens.
    answers.push(['127.0.0.1'], ['127.0.0.2']);
    const res = await publicFetch(`http://media.rebind.test:${port}/file`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`hello media.rebind.test:${port}`);
    expect(vi.mocked(lookup).mock.calls.filter(([h]) => h === 'media.rebind.test')).toHaveLength(1);
  });

  it('refuses a name that resolves to a private address before connecting', async () => {
    setConfig(parseConfig({}));
    answers.push(['10.0.0.7']);
    await expect(publicFetch('https://files.rebind.test/a.pdf')).rejects.toBeInstanceOf(HostRefusedError);
    await expect(publicFetch(`http://127.0.0.1:${port}/`)).rejects.toThrow(/private, loopback/);
    await expect(publicFetch('https://user:pw@example.com/')).rejects.toThrow(/credentials/);
    await expect(publicFetch('file:///etc/passwd')).rejects.toThrow(/not fetched/);
  });
  it('answers a name under the reserved .invalid domain itself: ENOTFOUND, nothing asked of DNS', async () => {
    setConfig(parseConfig({}));
    const before = vi.mocked(lookup).mock.calls.length;
    const refused = await publicFetch('https://media.exotel.invalid/a.jpg').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HostRefusedError);
    expect(refused).toMatchObject({ reason: 'unresolvable', message: 'media.exotel.invalid does not resolve (ENOTFOUND)' });
    expect(vi.mocked(lookup).mock.calls.length).toBe(before);
  });
});
