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
import { listMemberViews, memberViewById } from './profile.js';
import { ianaTimeZone } from '../time.js';
import { sanitizedSignature, signatureHtml } from '../email/signature.js';

export const orgUpdate = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    timezone: ianaTimeZone,
    // The sign-off AI drafts end with (plain text).
    signature: z.string().max(2000).nullable(),
    // Appended to outgoing email under the member's own (HTML, sanitised; see lib/email/signature.ts).
    emailSignature: signatureHtml.nullable(),
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
  const [org] = await ctx.sql`
    select id, name, slug, timezone, plan, signature, email_signature_html as email_signature, created_at, updated_at
    from app.organizations where id = ${ctx.orgId}`;
  const domains = await ctx.sql`select domain, verified from app.organization_domains where org_id = ${ctx.orgId} order by domain`;
  const region = await orgRegion(ctx);
  return { ...org, country: region.country, countrySource: region.source, domains, role: ctx.role };
}

export async function updateOrg(ctx: Ctx, input: z.infer<typeof orgUpdate>) {
  const { domains, emailSignature, ...rest } = input;
  const fields: Record<string, unknown> = { ...rest };
  if (emailSignature !== undefined) fields.emailSignatureHtml = await sanitizedSignature(emailSignature);
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

export async function listMembers(ctx: Ctx) {
  return { data: await listMemberViews(ctx), nextCursor: null };
}

const getMember = memberViewById;

export async function updateMember(ctx: Ctx, id: string, raw: z.infer<typeof memberUpdate>) {
  const { value: input, assumed } = await normalizePhones(ctx, raw, ['phone'], 'body');
  const [r] = await ctx.sql<{ id: string | null }[]>`
    select (m).id from (select app.update_member(${id}, ${input.role ?? null}, ${input.status ?? null},
      ${input.displayName ?? null}, ${input.phone ?? null}) as m) r`;
  if (!r?.id) throw notFound('Member');
  const member = await getMember(ctx, id);
  await recordChange(ctx, {
    event: 'member.updated',
    topics: [topics.org(ctx.orgId), topics.user(member.userId)],
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
// A team member's role: `lead` or `member` (the default). Leads are members named in leadIds; later
// notifications reach a team's leads.
export const TEAM_ROLES = ['lead', 'member'] as const;

export const teamCreate = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().trim().max(500).nullable().optional(),
  memberIds: z.array(z.uuid()).max(200).default([]),
  // Each must be one of memberIds.
  leadIds: z.array(z.uuid()).max(200).default([]),
});
export const teamUpdate = z
  .strictObject({
    name: teamCreate.shape.name,
    description: teamCreate.shape.description,
    memberIds: z.array(z.uuid()).max(200),
    // The team's leads, each a member of the team (after memberIds when both are given); the others are members.
    leadIds: z.array(z.uuid()).max(200),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export async function listTeams(ctx: Ctx) {
  const data = await ctx.sql`
    select t.id, t.name, t.description, t.created_at, t.updated_at,
      coalesce((select array_agg(tm.user_id order by tm.user_id) from app.team_members tm where tm.team_id = t.id), '{}') as member_ids,
      coalesce((select array_agg(tm.user_id order by tm.user_id) from app.team_members tm where tm.team_id = t.id and tm.role = 'lead'), '{}') as lead_ids,
      coalesce((select json_agg(json_build_object('userId', tm.user_id, 'role', tm.role) order by tm.user_id)
        from app.team_members tm where tm.team_id = t.id), '[]') as members
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

/** Makes exactly `leadIds` the team's leads; each must be a member of the team. */
async function setTeamLeads(ctx: Ctx, teamId: string, leadIds: string[]) {
  const rows = await ctx.sql<{ userId: string }[]>`select user_id from app.team_members where team_id = ${teamId}`;
  const members = new Set(rows.map((r) => r.userId));
  const outside = leadIds.findIndex((u) => !members.has(u.toLowerCase()));
  if (outside >= 0) throw invalid(`body.leadIds.${outside}`, 'is not a member of this team (add them to memberIds)');
  await ctx.sql`
    update app.team_members set role = case when user_id = any(${leadIds}::uuid[]) then 'lead' else 'member' end
    where team_id = ${teamId}`;
}

export async function createTeam(ctx: Ctx, input: z.infer<typeof teamCreate>) {
  const [t] = await ctx.sql<{ id: string }[]>`
    insert into app.teams (org_id, name, description) values (${ctx.orgId}, ${input.name}, ${input.description ?? null}) returning id`;
  await setTeamMembers(ctx, t!.id, input.memberIds);
  await setTeamLeads(ctx, t!.id, input.leadIds);
  const team = await getTeam(ctx, t!.id);
  await recordChange(ctx, { event: 'team.created', topics: [topics.org(ctx.orgId)], data: team, audit: { entityType: 'team', entityId: t!.id, data: input } });
  return team;
}

export async function updateTeam(ctx: Ctx, id: string, input: z.infer<typeof teamUpdate>) {
  const { memberIds, leadIds, ...fields } = input;
  await getTeam(ctx, id);
  if (Object.keys(fields).length) await ctx.sql`update app.teams set ${ctx.sql(fields as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  if (memberIds) await setTeamMembers(ctx, id, memberIds);
  if (leadIds) await setTeamLeads(ctx, id, leadIds);
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
