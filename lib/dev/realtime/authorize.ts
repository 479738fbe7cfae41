// Channel authorization as Supabase Realtime does it (supabase/realtime
// lib/realtime/tenants/authorization.ex): the token's claims, then probe rows in realtime.messages
// inside a transaction that is always rolled back. Read: probe rows for `broadcast` and `presence`
// inserted by the server, then selected back as the member (role, `realtime.topic`,
// `request.jwt.claims` set locally); write: the same rows inserted as the member, each under a
// savepoint (an RLS refusal means no). Only the topic and the extension reach the policies.
import type { Sql, Tx } from '../../db/client.js';
import { verifyAccessToken } from '../../http/auth.js';
import { AppError } from '../../errors.js';

export interface TokenClaims {
  role: string;
  sub?: string;
  exp?: number;
  [claim: string]: unknown;
}

export type TokenResult = { ok: true; token: string | null; claims: TokenClaims } | { ok: false; code: string; message: string };

export interface Policies {
  broadcastRead: boolean;
  presenceRead: boolean;
  broadcastWrite: boolean;
  presenceWrite: boolean;
}

const NONE: Policies = { broadcastRead: false, presenceRead: false, broadcastWrite: false, presenceWrite: false };

function expMessage(exp: number): string {
  return `Token has expired ${Math.max(0, Math.floor(Date.now() / 1000 - exp))} seconds ago`;
}

function decodeExp(token: string): number | undefined {
  try {
    const body = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof body.exp === 'number' ? body.exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The claims a channel acts with. Locally there is no anon key: no token, a publishable key
 * (`sb_…`) or anything that is not a JWT (the `apikey` the client was given) is anonymous, which the
 * policies refuse on private channels. A JWT must verify as the API's tokens do and not be expired.
 */
export async function resolveToken(token: string | null | undefined): Promise<TokenResult> {
  if (!token || token.startsWith('sb_') || token.split('.').length !== 3) return { ok: true, token: null, claims: { role: 'anon' } };
  const exp = decodeExp(token);
  if (exp !== undefined && exp <= Date.now() / 1000) return { ok: false, code: 'InvalidJWTToken', message: expMessage(exp) };
  try {
    const principal = await verifyAccessToken(token);
    const claims = principal.claims as TokenClaims;
    if (typeof claims.exp !== 'number' || !claims.role) return { ok: false, code: 'InvalidJWTToken', message: 'Fields `role` and `exp` are required in JWT' };
    return { ok: true, token, claims };
  } catch (error) {
    if (error instanceof AppError && /expired/.test(error.message)) return { ok: false, code: 'InvalidJWTToken', message: expMessage(exp ?? 0) };
    if (error instanceof AppError && /malformed/.test(error.message))
      return { ok: false, code: 'MalformedJWT', message: 'The token provided is not a valid JWT' };
    return { ok: false, code: 'JwtSignatureError', message: error instanceof Error ? error.message : 'Failed to validate JWT signature' };
  }
}

export { expMessage };

class Rollback extends Error {}

async function asMember(tx: Tx, topic: string, claims: TokenClaims): Promise<void> {
  // Only the roles Supabase's API hands out; anything else acts as anon.
  const role = claims.role === 'authenticated' || claims.role === 'service_role' ? claims.role : 'anon';
  await tx`select set_config('role', ${role}, true), set_config('realtime.topic', ${topic}, true),
                  set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('request.headers', '{}', true)`;
}

/** Read and write policies of a topic for these claims, probed in one rolled-back transaction. */
export async function probePolicies(sql: Sql, topic: string, claims: TokenClaims, isPrivate: boolean): Promise<Policies> {
  if (!isPrivate) return NONE;
  let result: Policies = NONE;
  try {
    await sql.begin(async (t) => {
      const probes = await t<{ id: string; extension: string }[]>`
        insert into realtime.messages (topic, extension, private) values (${topic}, 'broadcast', true), (${topic}, 'presence', true)
        returning id, extension`;
      const broadcastId = probes.find((p) => p.extension === 'broadcast')!.id;
      const presenceId = probes.find((p) => p.extension === 'presence')!.id;
      await asMember(t, topic, claims);
      const seen = await t<{ id: string }[]>`
        select id from realtime.messages
         where topic = ${topic} and ((extension = 'broadcast' and id = ${broadcastId}) or (extension = 'presence' and id = ${presenceId}))`;
      const ids = new Set(seen.map((r) => r.id));
      const mayInsert = async (extension: 'broadcast' | 'presence') => {
        try {
          await t.savepoint(async (sp) => {
            await sp`insert into realtime.messages (topic, extension, private) values (${topic}, ${extension}, true)`;
          });
          return true;
        } catch (error) {
          if ((error as { code?: string }).code === '42501') return false;
          throw error;
        }
      };
      const broadcastWrite = await mayInsert('broadcast');
      const presenceWrite = await mayInsert('presence');
      result = { broadcastRead: ids.has(broadcastId), presenceRead: ids.has(presenceId), broadcastWrite, presenceWrite };
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  return result;
}
