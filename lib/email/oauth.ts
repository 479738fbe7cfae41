// OAuth 2.0 for mailboxes (Google, Microsoft, or any provider with a token endpoint): exchanges the
// stored refresh token for an access token (RFC 6749 section 6) that IMAP's XOAUTH2 login presents.
import http from 'node:http';
import https from 'node:https';
import { config } from '../config.js';
import { guardedLookup, HostRefusedError, resolvePublicHost } from '../channels/net-guard.js';

export const OAUTH_PROVIDERS = ['google', 'microsoft', 'custom'] as const;
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];

export const DEFAULT_TOKEN_URLS: Record<Exclude<OAuthProvider, 'custom'>, string> = {
  google: 'https://oauth2.googleapis.com/token',
  microsoft: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
};

export interface OAuthClient {
  tokenUrl: string;
  clientId: string;
  clientSecret?: string | null;
  scope?: string | null;
}

export interface AccessToken {
  accessToken: string;
  expiresAt: Date;
  /** Set when the provider rotated the refresh token (Microsoft does): store it instead of the old one. */
  refreshToken?: string;
}

/**
 * kind 'grant': the provider refused the refresh token or client (revoked, expired, wrong secret) and
 * a person has to reconnect the mailbox; 'unavailable': the endpoint could not be reached or failed.
 */
export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly kind: 'grant' | 'unavailable',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;
const MAX_RESPONSE_BYTES = 256 * 1024;

/** POSTs a form and reads a JSON answer, connecting only to addresses the network guard allows. */
function postForm(url: URL, form: URLSearchParams): Promise<{ status: number; body: unknown }> {
  const client = url.protocol === 'https:' ? https : http;
  const payload = form.toString();
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
        lookup: guardedLookup as never,
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('the token endpoint answered with too much data'));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = null;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            body = null;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Checks a token URL a member gave: https (http only where private hosts are allowed, i.e. tests) and a public host. */
export async function checkTokenUrl(tokenUrl: string): Promise<void> {
  const url = new URL(tokenUrl);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && config().network.allowPrivateHosts)) {
    throw new HostRefusedError(url.hostname, 'private', 'the token URL must use https');
  }
  await resolvePublicHost(url.hostname);
}

/** Exchanges a refresh token for an access token at the client's token endpoint. */
export async function exchangeRefreshToken(client: OAuthClient, refreshToken: string): Promise<AccessToken> {
  const url = new URL(client.tokenUrl);
  try {
    await checkTokenUrl(client.tokenUrl);
  } catch (error) {
    throw new OAuthError('unavailable', `The token endpoint ${url.host} is refused: ${(error as Error).message}`);
  }
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.clientId });
  if (client.clientSecret) form.set('client_secret', client.clientSecret);
  if (client.scope) form.set('scope', client.scope);
  let answer: { status: number; body: unknown };
  try {
    answer = await postForm(url, form);
  } catch (error) {
    throw new OAuthError('unavailable', `The token endpoint ${url.host} could not be reached: ${(error as Error).message}`);
  }
  const body = (answer.body ?? {}) as { access_token?: unknown; expires_in?: unknown; refresh_token?: unknown; error?: unknown; error_description?: unknown };
  if (answer.status >= 200 && answer.status < 300 && typeof body.access_token === 'string' && body.access_token) {
    const expiresIn = Number(body.expires_in);
    return {
      accessToken: body.access_token,
      // Without expires_in, assume the common one hour.
      expiresAt: new Date(Date.now() + (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600) * 1000),
      ...(typeof body.refresh_token === 'string' && body.refresh_token && body.refresh_token !== refreshToken ? { refreshToken: body.refresh_token } : {}),
    };
  }
  const code = typeof body.error === 'string' ? body.error : undefined;
  const description = typeof body.error_description === 'string' ? body.error_description.slice(0, 300) : undefined;
  const detail = [code, description].filter(Boolean).join(': ') || `HTTP ${answer.status}`;
  // 400/401 with an OAuth error code: the grant or the client is bad, retrying will not help.
  if ((answer.status === 400 || answer.status === 401) && code) {
    throw new OAuthError('grant', `The provider refused the refresh token (${detail}); reconnect the mailbox`, answer.status);
  }
  throw new OAuthError('unavailable', `The token endpoint ${url.host} failed (${detail})`, answer.status);
}
