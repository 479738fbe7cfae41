// Access-token verification with jose: Supabase's JWKS (ES256/RS256) when SUPABASE_URL is set, the
// HS256 secret otherwise (or as well, for projects still on the legacy secret). Issuer, audience and
// expiry are always checked: a token must carry `exp`, and one issued (`iat`) or valid from (`nbf`)
// later than now, beyond a few seconds of clock skew, is refused.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { config } from '../config.js';
import { AppError } from '../errors.js';

export interface Principal {
  userId: string;
  email?: string;
  claims: JWTPayload;
}

let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
// Imported once: jose would otherwise import the raw secret on every verification.
let secretKey: Promise<CryptoKey> | undefined;

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Tokens this instance has verified, until they expire: a web app sends the same token with every
 * request, and the signature check (WebCrypto) was a tenth of a list request's CPU. Keyed by the whole
 * token, so a hit is exactly a token whose signature and claims already passed; expiry is checked on
 * every hit. Bounded: the oldest entries go first.
 */
const verified = new Map<string, { principal: Principal; expiresAtMs: number }>();
const VERIFIED_MAX = 10_000;
const CLOCK_TOLERANCE_S = 5;

export async function verifyAccessToken(token: string): Promise<Principal> {
  const hit = verified.get(token);
  if (hit) {
    if (Date.now() < hit.expiresAtMs) return hit.principal;
    verified.delete(token);
  }
  const principal = await verifySignatureAndClaims(token);
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  // Every accepted token has exp (a required claim).
  verified.set(token, { principal, expiresAtMs: (principal.claims.exp! + CLOCK_TOLERANCE_S) * 1000 });
  return principal;
}

async function verifySignatureAndClaims(token: string): Promise<Principal> {
  const { auth } = config();
  const options = { issuer: auth.issuer, audience: auth.audience, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ['exp'] };
  let header: { alg?: string };
  try {
    header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: string };
  } catch {
    throw new AppError('unauthorized', 'The access token is malformed');
  }
  try {
    let payload: JWTPayload;
    if (header.alg === 'HS256') {
      if (!auth.secret) throw new AppError('unauthorized', 'HS256 tokens are not accepted by this deployment');
      secretKey ??= crypto.subtle.importKey('raw', new TextEncoder().encode(auth.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      ({ payload } = await jwtVerify(token, await secretKey, { ...options, algorithms: ['HS256'] }));
    } else {
      if (!auth.jwksUrl) throw new AppError('unauthorized', `Tokens signed with ${header.alg ?? 'no algorithm'} are not accepted`);
      jwks ??= createRemoteJWKSet(new URL(auth.jwksUrl), { cacheMaxAge: 10 * 60_000 });
      ({ payload } = await jwtVerify(token, jwks, { ...options, algorithms: ['ES256', 'RS256'] }));
    }
    // jose checks `nbf` itself, and `iat` only against a maximum age, which Supabase's tokens do not need.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) {
      throw new AppError('unauthorized', "The access token's iat claim is in the future");
    }
    if (!payload.sub || !uuid.test(payload.sub)) throw new AppError('unauthorized', 'The access token has no user');
    if (payload.role && payload.role !== 'authenticated') throw new AppError('unauthorized', 'The access token is not a signed-in user');
    return { userId: payload.sub.toLowerCase(), email: typeof payload.email === 'string' ? payload.email : undefined, claims: payload };
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new AppError('unauthorized', 'The access token has expired');
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      throw new AppError('unauthorized', `The access token's ${error.claim} claim is not accepted`);
    }
    throw new AppError('unauthorized', 'The access token is not valid');
  }
}

/** Extracts the bearer token from an Authorization header: an access token (JWT) or an API key (bx_live_...). */
export function bearerToken(request: Request): string {
  const header = request.headers.get('authorization');
  if (!header) throw new AppError('unauthorized', 'Authorization: Bearer <access token> is required');
  const match = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+|bx_live_[A-Za-z0-9]+)\s*$/i.exec(header);
  if (!match?.[1]) throw new AppError('unauthorized', 'The Authorization header must be "Bearer <access token>" or "Bearer <API key>"');
  return match[1];
}

/** Signs a Supabase-shaped access token with the HS256 secret (local development and tests). */
export async function signAccessToken(
  user: { id: string; email?: string },
  options: { secret?: string; expiresIn?: string | number; issuer?: string; audience?: string } = {},
): Promise<string> {
  const { auth } = config();
  const secret = options.secret ?? auth.secret;
  if (!secret) throw new Error('No HS256 secret is configured (AUTH_JWT_SECRET)');
  const jwt = new SignJWT({ email: user.email, role: 'authenticated', aal: 'aal1', is_anonymous: false })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user.id)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h');
  const issuer = options.issuer ?? auth.issuer;
  if (issuer) jwt.setIssuer(issuer);
  jwt.setAudience(options.audience ?? auth.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** Forgets cached keys (tests that switch configuration). */
export function resetAuthCache(): void {
  jwks = undefined;
  secretKey = undefined;
  verified.clear();
}
