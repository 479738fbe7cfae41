// A local OAuth 2.0 authorization server for tests: the token endpoint (RFC 6749 section 6, refresh
// token grant, form-encoded, JSON answers and errors) and the token introspection endpoint (RFC 7662)
// that Dovecot's oauth2 passdb asks whether an XOAUTH2 access token is valid and whose it is.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OAuthGrant {
  clientId: string;
  clientSecret?: string;
  refreshToken: string;
  /** The mailbox user the tokens log in as (the introspection answer's username). */
  username: string;
}

export interface TokenRequest {
  grantType: string | null;
  clientId: string | null;
  clientSecret: string | null;
  refreshToken: string | null;
  scope: string | null;
}

export interface OAuthServer {
  url: string;
  tokenUrl: string;
  introspectionUrl: string;
  /** Every token request received, in order. */
  tokenRequests: TokenRequest[];
  /** Access tokens Dovecot asked about, in order. */
  introspected: string[];
  addGrant(grant: OAuthGrant): void;
  /** Make the next token answers rotate the refresh token (as Microsoft does). */
  rotateRefreshTokens: boolean;
  /** Seconds until issued access tokens expire (default 3600). */
  expiresIn: number;
  /** Invalidate an access token before its expiry. */
  revoke(accessToken: string): void;
  close(): Promise<void>;
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

export async function startOAuthServer(): Promise<OAuthServer> {
  const grants = new Map<string, OAuthGrant>();
  const tokens = new Map<string, { username: string; expiresAt: number }>();
  const state: Pick<OAuthServer, 'tokenRequests' | 'introspected' | 'rotateRefreshTokens' | 'expiresIn'> = {
    tokenRequests: [],
    introspected: [],
    rotateRefreshTokens: false,
    expiresIn: 3600,
  };

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    void readForm(req).then((form) => {
      if (req.method === 'POST' && req.url === '/token') {
        const request: TokenRequest = {
          grantType: form.get('grant_type'),
          clientId: form.get('client_id'),
          clientSecret: form.get('client_secret'),
          refreshToken: form.get('refresh_token'),
          scope: form.get('scope'),
        };
        state.tokenRequests.push(request);
        if (request.grantType !== 'refresh_token') return send(400, { error: 'unsupported_grant_type' });
        const grant = request.refreshToken ? grants.get(request.refreshToken) : undefined;
        if (!grant || grant.clientId !== request.clientId) {
          return send(400, { error: 'invalid_grant', error_description: 'The refresh token is invalid or was revoked' });
        }
        if ((grant.clientSecret ?? null) !== request.clientSecret)
          return send(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
        const accessToken = `at-${randomBytes(12).toString('hex')}`;
        tokens.set(accessToken, { username: grant.username, expiresAt: Date.now() + state.expiresIn * 1000 });
        const answer: Record<string, unknown> = {
          access_token: accessToken,
          token_type: 'Bearer',
          expires_in: state.expiresIn,
          scope: request.scope ?? 'mail',
        };
        if (state.rotateRefreshTokens) {
          const next = `rt-${randomBytes(12).toString('hex')}`;
          grants.delete(grant.refreshToken);
          grants.set(next, { ...grant, refreshToken: next });
          answer.refresh_token = next;
        }
        return send(200, answer);
      }
      if (req.method === 'POST' && req.url === '/introspect') {
        const token = form.get('token') ?? '';
        state.introspected.push(token);
        const known = tokens.get(token);
        if (!known || known.expiresAt < Date.now()) return send(200, { active: false });
        return send(200, { active: true, username: known.username, exp: Math.floor(known.expiresAt / 1000) });
      }
      send(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    tokenUrl: `${url}/token`,
    introspectionUrl: `${url}/introspect`,
    addGrant(grant: OAuthGrant) {
      grants.set(grant.refreshToken, grant);
    },
    revoke(accessToken: string) {
      tokens.delete(accessToken);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
