// API keys of an organization: owners and admins create them (the key is answered once, then only its
// prefix), list them and revoke them. A key's role is at most its creator's (the schema's insert policy
// says so too); scopes narrow it to some actions. Keys cannot make keys (route() refuses
// api_keys.manage to every key).
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { AppError, invalid, notFound } from '../errors.js';
import { API_KEY_SCOPES, ROLES, roleRank, type Role } from '../http/permissions.js';
import { recordChange, topics } from '../realtime.js';
import { wireId, wireInstant } from '../wire.js';
import { newApiKey } from './token.js';

export const apiKeyCreate = z.strictObject({
  name: z.string().trim().min(1).max(200),
  role: z.enum(ROLES).default('agent'),
  scopes: z
    .array(z.enum(API_KEY_SCOPES))
    .min(1)
    .max(64)
    .transform((s) => [...new Set(s)])
    .nullable()
    .default(null),
  expiresAt: z.iso
    .datetime({ offset: true })
    .refine((v) => new Date(v).getTime() > Date.now(), 'must be in the future')
    .nullable()
    .default(null),
});

export const apiKeyListQuery = z.strictObject({ status: z.enum(['active', 'revoked', 'expired', 'all']).default('active') });

export const apiKeyWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    prefix: z.string(),
    role: z.enum(ROLES),
    scopes: z.array(z.string()).nullable(),
    createdBy: wireId,
    expiresAt: wireInstant.nullable(),
    lastUsedAt: wireInstant.nullable(),
    revokedAt: wireInstant.nullable(),
    revokedBy: wireId.nullable(),
    createdAt: wireInstant,
  })
  .meta({ id: 'ApiKey' });
/** The answer to create: the key itself, shown this once. */
export const apiKeyCreatedWire = apiKeyWire.extend({ key: z.string() }).meta({ id: 'ApiKeyCreated' });
export const apiKeyListWire = z.strictObject({ data: z.array(apiKeyWire) });

const columns = 'id, name, prefix, role, scopes, created_by, expires_at, last_used_at, revoked_at, revoked_by, created_at';

export async function createApiKey(ctx: Ctx, input: z.infer<typeof apiKeyCreate>) {
  if (ctx.role === 'system' || !ctx.userId) throw new AppError('forbidden', 'API keys are made by members');
  if (roleRank(input.role) > roleRank(ctx.role as Role)) throw invalid('body.role', `must not be above your own role (${ctx.role})`);
  const made = newApiKey();
  const [row] = await ctx.sql<Record<string, unknown>[]>`
    insert into app.api_keys (org_id, name, prefix, key_hash, role, scopes, created_by, expires_at)
    values (${ctx.orgId}, ${input.name}, ${made.prefix}, ${made.hash}, ${input.role}, ${input.scopes}, ${ctx.userId}, ${input.expiresAt})
    returning ${ctx.sql.unsafe(columns)}`;
  await recordChange(ctx, {
    event: 'api_key.created',
    topics: [topics.org(ctx.orgId)],
    data: row,
    audit: { entityType: 'api_key', entityId: row!.id as string, data: { name: input.name, role: input.role, scopes: input.scopes, prefix: made.prefix } },
  });
  return { ...row, key: made.key };
}

export async function listApiKeys(ctx: Ctx, q: z.infer<typeof apiKeyListQuery>) {
  const sql = ctx.sql;
  const filter = {
    active: sql`and revoked_at is null and (expires_at is null or expires_at > now())`,
    revoked: sql`and revoked_at is not null`,
    expired: sql`and revoked_at is null and expires_at <= now()`,
    all: sql``,
  }[q.status];
  const data = await sql`
    select ${sql.unsafe(columns)} from app.api_keys where org_id = ${ctx.orgId} ${filter} order by created_at desc, id desc limit 500`;
  return { data };
}

export async function revokeApiKey(ctx: Ctx, id: string) {
  const [row] = await ctx.sql<Record<string, unknown>[]>`
    update app.api_keys set revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, ${ctx.userId})
    where id = ${id} and org_id = ${ctx.orgId} returning ${ctx.sql.unsafe(columns)}`;
  if (!row) throw notFound('API key');
  await recordChange(ctx, {
    event: 'api_key.revoked',
    topics: [topics.org(ctx.orgId)],
    data: row,
    audit: { entityType: 'api_key', entityId: id, data: { prefix: row.prefix } },
  });
  return row;
}
