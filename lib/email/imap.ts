// Opens an IMAP connection for a mailbox channel with imapflow: password or XOAUTH2 login, the
// network guard applied to the address actually dialled (TLS still verifies the configured host
// name), and failures sorted into what a person can act on: login refused, server unreachable, TLS.
import { isIP } from 'node:net';
import type { ImapFlow } from 'imapflow';
import { HostRefusedError, resolvePublicHost } from '../channels/net-guard.js';
import { config } from '../config.js';
import { log } from '../log.js';

export interface ImapServer {
  host: string;
  port: number;
  /** Implicit TLS (993). False: STARTTLS on a plain port, required unless private hosts are allowed (tests). */
  tls: boolean;
  username: string;
}

export type ImapLogin = { method: 'password'; password: string } | { method: 'oauth2'; accessToken: string };

export type ImapFailure = 'auth' | 'connection' | 'tls' | 'refused';

export class ImapConnectError extends Error {
  override name = 'ImapConnectError';
  constructor(
    readonly kind: ImapFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface ImapErrorLike {
  message?: string;
  code?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  responseText?: string;
  serverResponseCode?: string;
  oauthError?: unknown;
}

const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  CONNECT_TIMEOUT: 'timed out connecting',
  GREETING_TIMEOUT: 'the server sent no greeting',
  UPGRADE_TIMEOUT: 'STARTTLS timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  NoConnection: 'the connection closed',
  EConnectionClosed: 'the connection closed',
  ClosedAfterConnectText: 'the server closed the connection (does it expect TLS?)',
  ClosedAfterConnectTLS: 'the server closed the connection after the TLS handshake',
};

/** Turns whatever imapflow or the socket threw into an ImapConnectError with a message for people. */
export function describeImapError(error: unknown, server: ImapServer): ImapConnectError {
  if (error instanceof ImapConnectError) return error;
  if (error instanceof HostRefusedError) {
    return new ImapConnectError(error.reason === 'private' ? 'refused' : 'connection', `Cannot connect to ${server.host}: ${error.message}`, { cause: error });
  }
  const e = (error ?? {}) as ImapErrorLike;
  const where = `${server.host}:${server.port}`;
  if (e.authenticationFailed) {
    const text = e.responseText || e.serverResponseCode || 'authentication failed';
    return new ImapConnectError('auth', `The IMAP server ${where} refused the login for ${server.username}: ${text}`, { cause: error });
  }
  const code = e.code ?? '';
  if (e.tlsFailed || /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET)/.test(code) || /STARTTLS/i.test(e.message ?? '')) {
    return new ImapConnectError('tls', `TLS with ${where} failed: ${e.message ?? code}`, { cause: error });
  }
  const reason = CONNECTION_CODES[code] ?? e.message ?? 'unknown error';
  return new ImapConnectError('connection', `Could not connect to the IMAP server ${where}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}`, {
    cause: error,
  });
}

export interface OpenOptions {
  /** Connect plus greeting plus login, in ms (default 20 s). */
  timeoutMs?: number;
}

/** Connects and logs in; the caller logs out (closeImap). Throws ImapConnectError. */
export async function openImap(server: ImapServer, login: ImapLogin, options: OpenOptions = {}): Promise<ImapFlow> {
  const timeout = options.timeoutMs ?? 20_000;
  let address: string;
  try {
    // Resolved here and dialled by address, so the address checked is the address used.
    [address] = (await resolvePublicHost(server.host)) as [string];
  } catch (error) {
    throw describeImapError(error, server);
  }
  const { ImapFlow } = await import('imapflow');
  const bareHost = server.host.replace(/^\[(.*)\]$/, '$1');
  const client = new ImapFlow({
    host: address,
    port: server.port,
    secure: server.tls,
    ...(isIP(bareHost) ? {} : { servername: bareHost }),
    // Credentials never cross the internet in clear text: STARTTLS is required on a plain port.
    ...(server.tls ? {} : { doSTARTTLS: config().network.allowPrivateHosts ? undefined : true }),
    tls: { minVersion: 'TLSv1.2' },
    auth: login.method === 'password' ? { user: server.username, pass: login.password } : { user: server.username, accessToken: login.accessToken },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: 120_000,
    clientInfo: { name: 'Banxway' },
  });
  // Socket errors after connect arrive as events; without a listener they would crash the process.
  client.on('error', (error: unknown) => log.warn('imap connection error', { host: server.host, error: (error as Error)?.message }));
  try {
    await client.connect();
  } catch (error) {
    client.close();
    throw describeImapError(error, server);
  }
  return client;
}

/** Logs out politely, or drops the connection when that fails. */
export async function closeImap(client: ImapFlow | undefined): Promise<void> {
  if (!client) return;
  try {
    if (client.usable) await client.logout();
    else client.close();
  } catch {
    client.close();
  }
}

/** Connects, lists the mailbox's folders and logs out: the channel test. */
export async function listFolders(server: ImapServer, login: ImapLogin): Promise<string[]> {
  const client = await openImap(server, login);
  try {
    const folders = await client.list();
    return folders.filter((f) => !f.flags.has('\\Noselect') && !f.flags.has('\\NonExistent')).map((f) => f.path);
  } catch (error) {
    throw describeImapError(error, server);
  } finally {
    await closeImap(client);
  }
}
