// Joining an organization by consent: an owner or admin invites an email with a role; a signed-in user
// whose account has that email sees the invitation on /api/me and accepts or declines it. The answer
// to the admin is the same whether or not the email has an account. The rules (who may invite whom,
// one open invitation per email, expiry) live in the schema's invitation functions.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { systemClaims, type Tx } from '../db/client.js';
import { notFound } from '../errors.js';
import { ROLES } from '../http/permissions.js';
import { recordChange, topics } from '../realtime.js';

export const invitationCreate = z.strictObject({
  email: z.string().trim().toLowerCase().pipe(z.email('must be an email address')),
  role: z.enum(ROLES).default('agent'),
  displayName: z.string().trim().max(200).default(''),
});

const columns = 'id, email, role, display_name, status, invited_by, expires_at, responded_at, created_at';

interface Invitation {
  id: string | null;
  orgId: string;
  email: string;
  role: string;
  status: string;
  [key: string]: unknown;
}

/** Invites an email (again: the open invitation is renewed). */
export async function inviteMember(ctx: Ctx, input: z.infer<typeof invitationCreate>) {
  const [inv] = await ctx.sql<Invitation[]>`
    select (i).id, (i).email, (i).role, (i).display_name, (i).status, (i).invited_by, (i).expires_at, (i).responded_at, (i).created_at
    from (select app.invite_member(${input.email}, ${input.role}, ${input.displayName}) as i) r`;
  await recordChange(ctx, {
    event: 'invitation.created',
    topics: [topics.org(ctx.orgId)],
    data: inv,
    audit: { entityType: 'invitation', entityId: inv!.id, data: input },
  });
  return inv!;
}

/** Open invitations (expired ones included until renewed or revoked), newest first. */
export async function listInvitations(ctx: Ctx) {
  const data = await ctx.sql`
    select ${ctx.sql.unsafe(columns)}, (expires_at <= now()) as expired from app.member_invitations
    where org_id = ${ctx.orgId} and status = 'pending' order by created_at desc, id limit 500`;
  return { data, nextCursor: null };
}

export async function revokeInvitation(ctx: Ctx, id: string) {
  const [r] = await ctx.sql<{ id: string | null }[]>`select (i).id from (select app.revoke_invitation(${id}) as i) r`;
  if (!r?.id) throw notFound('Open invitation');
  await recordChange(ctx, {
    event: 'invitation.revoked',
    topics: [topics.org(ctx.orgId)],
    data: { id },
    audit: { entityType: 'invitation', entityId: id },
  });
  return null;
}

/** The signed-in user's open invitations (for /api/me). */
export async function myInvitations(sql: Tx) {
  return sql`select id, org_id, org_name, role, display_name, created_at, expires_at from app.my_invitations()`;
}

/**
 * Accepts or declines one of the signed-in user's invitations. The transaction then acts for the
 * organization (as its new member, or as the system actor for a decline) to announce and audit it.
 */
export async function respondToInvitation(sql: Tx, user: { userId: string; email?: string }, id: string, accept: boolean, requestId: string) {
  const [inv] = await sql<Invitation[]>`
    select (i).id, (i).org_id, (i).email, (i).role, (i).status from (select app.respond_to_invitation(${id}, ${accept}) as i) r`;
  if (!inv?.id) throw notFound('Invitation');
  const claims = accept ? { sub: user.userId, role: 'authenticated', org_id: inv.orgId, org_role: inv.role, email: user.email } : systemClaims(inv.orgId);
  await sql`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
  const ctx: Ctx = { requestId, userId: accept ? user.userId : null, orgId: inv.orgId, role: accept ? (inv.role as Ctx['role']) : 'system', sql, jobs: [] };
  if (!accept) {
    await recordChange(ctx, {
      event: 'invitation.declined',
      topics: [topics.org(inv.orgId)],
      data: { id: inv.id },
      audit: { entityType: 'invitation', entityId: inv.id, data: { userId: user.userId } },
    });
    return { invitation: { id: inv.id, status: inv.status }, member: null };
  }
  const [member] = await sql`
    select id, user_id, role, display_name, email, phone, status, created_at, updated_at from app.members
    where org_id = ${inv.orgId} and user_id = ${user.userId}`;
  await recordChange(ctx, {
    event: 'member.added',
    topics: [topics.org(inv.orgId), topics.user(user.userId)],
    data: member,
    audit: { entityType: 'member', entityId: member!.id as string, data: { invitationId: inv.id, role: inv.role } },
  });
  return { invitation: { id: inv.id, status: inv.status }, member };
}
