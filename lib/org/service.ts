// The organization itself, its members (roles changed only through the schema's membership
// functions, which enforce who may change whom and keep the last owner) and its teams.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { invalid, notFound } from '../errors.js';
import { ROLES } from '../http/permissions.js';
import { recordChange, topics } from '../realtime.js';
import { domainName, phoneNumber } from '../customers/service.js';
import { isSupportedCountry } from '../phone.js';
import { normalizePhones, orgRegion } from './region.js';

export const orgUpdate = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    timezone: z.string().refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as Asia/Kolkata'),
    signature: z.string().max(2000).nullable(),
    domains: z.array(domainName).max(20),
    // Where phone numbers typed without a country code are read; null: the time zone's country.
    country: z
      .string()
      .trim()
      .toUpperCase()
      .refine((c) => isSupportedCountry(c), 'must be an ISO 3166 alpha-2 country code with a phone numbering plan, such as IN')
      .nullable(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export async function getOrg(ctx: Ctx) {
  const [org] = await ctx.sql`select id, name, slug, timezone, plan, signature, created_at, updated_at from app.organizations where id = ${ctx.orgId}`;
  const domains = await ctx.sql`select domain, verified from app.organization_domains where org_id = ${ctx.orgId} order by domain`;
  const region = await orgRegion(ctx);
  return { ...org, country: region.country, countrySource: region.source, domains, role: ctx.role };
}

export async function updateOrg(ctx: Ctx, input: z.infer<typeof orgUpdate>) {
  const { domains, ...fields } = input;
  if (Object.keys(fields).length) await ctx.sql`update app.organizations set ${ctx.sql(fields as never)} where id = ${ctx.orgId}`;
  if (domains) {
    await ctx.sql`delete from app.organization_domains where org_id = ${ctx.orgId} and domain <> all(${domains}::text[])`;
    for (const d of domains) {
      await ctx.sql`insert into app.organization_domains (org_id, domain) values (${ctx.orgId}, ${d}) on conflict do nothing`;
    }
  }
  const org = await getOrg(ctx);
  await recordChange(ctx, {
    event: 'organization.updated',
    topics: [topics.org(ctx.orgId)],
    data: org,
    audit: { entityType: 'organization', entityId: ctx.orgId, data: input },
  });
  return org;
}

// ---------------------------------------------------------------------------------------------
// Members
// ---------------------------------------------------------------------------------------------
export const memberUpdate = z
  .strictObject({
    role: z.enum(ROLES),
    status: z.enum(['active', 'disabled']),
    displayName: z.string().trim().max(200),
    phone: phoneNumber,
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

const memberColumns = 'id, user_id, role, display_name, email, phone, status, created_at, updated_at';

export async function listMembers(ctx: Ctx) {
  const data = await ctx.sql`select ${ctx.sql.unsafe(memberColumns)} from app.members where org_id = ${ctx.orgId} order by display_name, id`;
  return { data, nextCursor: null };
}

async function getMember(ctx: Ctx, id: string) {
  const [m] = await ctx.sql`select ${ctx.sql.unsafe(memberColumns)} from app.members where id = ${id} and org_id = ${ctx.orgId}`;
  if (!m) throw notFound('Member');
  return m;
}

export async function updateMember(ctx: Ctx, id: string, raw: z.infer<typeof memberUpdate>) {
  const { value: input, assumed } = await normalizePhones(ctx, raw, ['phone'], 'body');
  const [r] = await ctx.sql<{ id: string | null }[]>`
    select (m).id from (select app.update_member(${id}, ${input.role ?? null}, ${input.status ?? null},
      ${input.displayName ?? null}, ${input.phone ?? null}) as m) r`;
  if (!r?.id) throw notFound('Member');
  const member = await getMember(ctx, id);
  await recordChange(ctx, {
    event: 'member.updated',
    topics: [topics.org(ctx.orgId), topics.user(member.userId as string)],
    data: member,
    audit: { entityType: 'member', entityId: id, data: input },
  });
  return assumed ? { ...member, phoneRegionAssumed: assumed } : member;
}

export async function removeMember(ctx: Ctx, id: string) {
  const member = await getMember(ctx, id);
  const [r] = await ctx.sql<{ removed: boolean }[]>`select app.remove_member(${id}) as removed`;
  if (!r?.removed) throw notFound('Member');
  await recordChange(ctx, {
    event: 'member.removed',
    topics: [topics.org(ctx.orgId)],
    data: { id, userId: member.userId },
    audit: { entityType: 'member', entityId: id },
  });
  return null;
}

// ---------------------------------------------------------------------------------------------
// Teams
// ---------------------------------------------------------------------------------------------
export const teamCreate = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().trim().max(500).nullable().optional(),
  memberIds: z.array(z.uuid()).max(200).default([]),
});
export const teamUpdate = z
  .strictObject({ name: teamCreate.shape.name, description: teamCreate.shape.description, memberIds: z.array(z.uuid()).max(200) })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export async function listTeams(ctx: Ctx) {
  const data = await ctx.sql`
    select t.id, t.name, t.description, t.created_at, t.updated_at,
      coalesce((select array_agg(tm.user_id order by tm.user_id) from app.team_members tm where tm.team_id = t.id), '{}') as member_ids
    from app.teams t where t.org_id = ${ctx.orgId} order by t.name`;
  return { data, nextCursor: null };
}

async function getTeam(ctx: Ctx, id: string) {
  const { data } = await listTeams(ctx);
  const team = data.find((t) => t.id === id);
  if (!team) throw notFound('Team');
  return team;
}

async function setTeamMembers(ctx: Ctx, teamId: string, userIds: string[]) {
  if (userIds.length) {
    const found = await ctx.sql`select user_id from app.members where org_id = ${ctx.orgId} and user_id = any(${userIds}::uuid[])`;
    const known = new Set(found.map((r) => r.userId as string));
    const missing = userIds.findIndex((u) => !known.has(u));
    if (missing >= 0) throw invalid(`body.memberIds.${missing}`, 'is not a member of this organization');
  }
  await ctx.sql`delete from app.team_members where team_id = ${teamId} and user_id <> all(${userIds}::uuid[])`;
  for (const u of userIds) {
    await ctx.sql`insert into app.team_members (org_id, team_id, user_id) values (${ctx.orgId}, ${teamId}, ${u}) on conflict do nothing`;
  }
}

export async function createTeam(ctx: Ctx, input: z.infer<typeof teamCreate>) {
  const [t] = await ctx.sql<{ id: string }[]>`
    insert into app.teams (org_id, name, description) values (${ctx.orgId}, ${input.name}, ${input.description ?? null}) returning id`;
  await setTeamMembers(ctx, t!.id, input.memberIds);
  const team = await getTeam(ctx, t!.id);
  await recordChange(ctx, { event: 'team.created', topics: [topics.org(ctx.orgId)], data: team, audit: { entityType: 'team', entityId: t!.id, data: input } });
  return team;
}

export async function updateTeam(ctx: Ctx, id: string, input: z.infer<typeof teamUpdate>) {
  const { memberIds, ...fields } = input;
  await getTeam(ctx, id);
  if (Object.keys(fields).length) await ctx.sql`update app.teams set ${ctx.sql(fields as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  if (memberIds) await setTeamMembers(ctx, id, memberIds);
  const team = await getTeam(ctx, id);
  await recordChange(ctx, { event: 'team.updated', topics: [topics.org(ctx.orgId)], data: team, audit: { entityType: 'team', entityId: id, data: input } });
  return team;
}

export async function deleteTeam(ctx: Ctx, id: string) {
  const [r] = await ctx.sql`delete from app.teams where id = ${id} and org_id = ${ctx.orgId} returning id`;
  if (!r) throw notFound('Team');
  await recordChange(ctx, { event: 'team.deleted', topics: [topics.org(ctx.orgId)], data: { id }, audit: { entityType: 'team', entityId: id } });
  return null;
}
