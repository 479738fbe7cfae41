// A TCP proxy between a connection pool and its database that can fail on command: refuse new
// connections, black-hole them (accept, never answer), reset them, answer the startup with a
// PostgreSQL error (53300, 57P03), and cut or silence connections already open. Outages are simulated
// here so the shared PostgreSQL server (which other test files use) is never stopped.
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/** sql.begin's COMMIT as postgres.js sends it: a simple Query message ('Q', length 11, "commit"). */
export const COMMIT_MESSAGE = /Q\0\0\0\x0bcommit\0/;

/** What a new connection meets. */
export type ProxyMode =
  { kind: 'pass' } | { kind: 'refuse' } | { kind: 'blackhole' } | { kind: 'reset' } | { kind: 'startup-error'; code: string; message: string };

interface Link {
  client: Socket;
  upstream?: Socket;
  /** When silenced, nothing more is forwarded either way and nothing is closed: a network gone quiet. */
  silenced: boolean;
  /** Cut after a pattern: the database side is ended (its last bytes delivered), not destroyed. */
  draining?: boolean;
}

export interface FaultProxy {
  /** postgres://… pointing at the proxy instead of the database. */
  readonly url: string;
  /** Connections accepted so far (passed or failed). */
  readonly accepted: number;
  /** How new connections are treated from now on. */
  setMode(mode: ProxyMode): Promise<void>;
  /** Resets (TCP RST) every open connection. */
  resetAll(): void;
  /** Stops forwarding on every open connection without closing it. */
  silenceAll(): void;
  /**
   * The next time a client sends bytes matching `pattern` (e.g. a COMMIT), they are forwarded to the
   * database and then that connection is reset before the answer comes back: the database did the work,
   * the client never hears it. Resolves once it happened.
   */
  cutAfter(pattern: RegExp): Promise<void>;
  close(): Promise<void>;
}

/** A PostgreSQL ErrorResponse ('E') message, as a server sends it during startup. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat([Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0`, 'utf8'), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

/** Starts a proxy on a free loopback port in front of `targetUrl` (a postgres:// URL). */
export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const targetHost = target.hostname;
  const targetPort = Number(target.port || 5432);
  let mode: ProxyMode = { kind: 'pass' };
  let accepted = 0;
  const links = new Set<Link>();
  let cut: { pattern: RegExp; done: () => void } | undefined;

  const onConnection = (client: Socket) => {
    accepted++;
    client.on('error', () => {});
    if (mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, silenced: mode.kind === 'blackhole' };
    links.add(link);
    client.on('close', () => {
      links.delete(link);
      if (!link.draining) link.upstream?.destroy();
    });
    if (mode.kind === 'blackhole') return; // accepted, never answered
    if (mode.kind === 'startup-error') {
      const { code, message } = mode;
      client.once('data', () => client.end(errorResponse(code, message)));
      return;
    }
    const upstream = new Socket();
    link.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    upstream.connect(targetPort, targetHost);
    client.on('data', (chunk: Buffer) => {
      if (link.silenced) return;
      upstream.write(chunk);
      if (cut && cut.pattern.test(chunk.toString('latin1'))) {
        const { done } = cut;
        cut = undefined;
        // The database gets the bytes (then end of stream); the client is reset before any answer reaches it.
        link.silenced = true;
        link.draining = true;
        upstream.end();
        client.resetAndDestroy();
        done();
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!link.silenced) client.write(chunk);
    });
  };

  let server: Server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let listening = true;

  const listen = async () => {
    if (listening) return;
    server = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    listening = true;
  };
  const unlisten = async () => {
    if (!listening) return;
    listening = false;
    // close() stops accepting (new connections are refused by the OS) and waits for open ones to end.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      resolve();
    });
  };

  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  return {
    url: url.toString(),
    get accepted() {
      return accepted;
    },
    async setMode(next) {
      mode = next;
      if (next.kind === 'refuse') await unlisten();
      else await listen();
    },
    resetAll() {
      for (const link of links) {
        link.silenced = true;
        link.client.resetAndDestroy();
        link.upstream?.destroy();
      }
      links.clear();
    },
    silenceAll() {
      for (const link of links) link.silenced = true;
    },
    cutAfter(pattern) {
      return new Promise<void>((resolve) => {
        cut = { pattern, done: resolve };
      });
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream?.destroy();
      }
      links.clear();
      await unlisten();
    },
  };
}
