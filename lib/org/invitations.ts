// Joining an organization by invitation. An owner or admin invites an email with a role; the invitee
// gets a link (mailed by the invitation.send job: Supabase Auth's invite for an email without an
// account, the app's own mail for one with an account, the same link either way) and accepts it with
// their own access token, or accepts from the list on /api/me. The answer to the admin is the same
// whether or not the email has an account. The rules (who may invite whom, one open invitation per
// email, 7 days, the account's confirmed email must be the invited one) live in the schema's
// invitation functions (supabase/migrations/*_invitation_links.sql).
import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { sealSecret } from '../crypto/secrets.js';
import { db, systemClaims, type Tx } from '../db/client.js';
import { AppError, notFound } from '../errors.js';
import type { Principal } from '../http/auth.js';
import { ROLES } from '../http/permissions.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { recordChange, topics } from '../realtime.js';

export const invitationCreate = z.strictObject({
  email: z.string().trim().toLowerCase().pipe(z.email('must be an email address')),
  role: z.enum(ROLES).default('agent'),
  displayName: z.string().trim().max(200).default(''),
});

export const invitationListQuery = z.strictObject({
  status: z.enum(['pending', 'accepted', 'declined', 'revoked', 'all']).default('pending'),
});

/** The link token: 32 random bytes, base64url (43 characters). */
export const linkTokenParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'is not an invitation link token') });

// What an admin sees. Never how the link was delivered: that would tell whether the email has an account.
const columns = `id, email, role, display_name, status, invited_by, expires_at, (expires_at <= now()) as expired, responded_at,
  sent_at, send_count, delivery_error, created_at`;

interface Invitation {
  id: string;
  orgId: string;
  email: string;
  role: string;
  status: string;
  [key: string]: unknown;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** A fresh link token: its hash finds the invitation, the sealed token lets the job mail it. */
function newLink(orgId: string) {
  const token = randomBytes(32).toString('base64url');
  return { hash: hashOf(token), sealed: sealSecret(token, orgId) };
}

/** The address the invitee opens: the web app's accept page, carrying the token. */
export const invitationLink = (token: string) => `${config().appUrl}/invitations/accept?token=${encodeURIComponent(token)}`;

async function view(ctx: Ctx, id: string) {
  const [row] = await ctx.sql`select ${ctx.sql.unsafe(columns)} from app.member_invitations where id = ${id} and org_id = ${ctx.orgId}`;
  return row!;
}

/** Queues the mail of the invitation's current link (one job per link). */
async function queueMail(ctx: Ctx, invitationId: string, linkHash: string) {
  await enqueue(ctx, jobSpecs.invitationSend, { invitationId }, { dedupeKey: `invitation.send:${linkHash}` });
}

/** Invites an email (again: the open invitation is renewed with a new link) and queues the mail. */
export async function inviteMember(ctx: Ctx, input: z.infer<typeof invitationCreate>) {
  const link = newLink(ctx.orgId);
  const [inv] = await ctx.sql<{ id: string }[]>`
    select (i).id from (select app.invite_member(${input.email}, ${input.role}, ${input.displayName}, ${link.hash}, ${ctx.sql.json(link.sealed as never)}) as i) r`;
  await queueMail(ctx, inv!.id, link.hash);
  const data = await view(ctx, inv!.id);
  await recordChange(ctx, {
    event: 'invitation.created',
    topics: [topics.org(ctx.orgId)],
    data,
    audit: { entityType: 'invitation', entityId: inv!.id, data: input },
  });
  return data;
}

/** Sends an open invitation again, with a new link (the earlier one stops working) and a new 7 days. */
export async function resendInvitation(ctx: Ctx, id: string) {
  const link = newLink(ctx.orgId);
  const [inv] = await ctx.sql<{ id: string | null }[]>`
    select (i).id from (select app.renew_invitation(${id}, ${link.hash}, ${ctx.sql.json(link.sealed as never)}) as i) r`;
  if (!inv?.id) throw notFound('Open invitation');
  await queueMail(ctx, id, link.hash);
  const data = await view(ctx, id);
  await recordChange(ctx, {
    event: 'invitation.updated',
    topics: [topics.org(ctx.orgId)],
    data,
    audit: { action: 'invitation.resent', entityType: 'invitation', entityId: id },
  });
  return data;
}

/** Invitations by status (open ones by default, expired included until renewed or revoked), newest first. */
export async function listInvitations(ctx: Ctx, query: z.infer<typeof invitationListQuery>) {
  const data = await ctx.sql`
    select ${ctx.sql.unsafe(columns)} from app.member_invitations
    where org_id = ${ctx.orgId} ${query.status === 'all' ? ctx.sql`` : ctx.sql`and status = ${query.status}`}
    order by created_at desc, id limit 500`;
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
 * Without Supabase Auth there is nobody else to keep accounts: the first time a locally signed token
 * (npm run token -- --email) is used to accept, its account is made, with the token's email as the
 * confirmed one. With Supabase Auth, accounts are its own and are never made here.
 */
export async function ensureLocalAccount(principal: Principal): Promise<void> {
  if (config().supabase || !principal.email) return;
  const sql = await db();
  await sql`
    insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values (${principal.userId}, 'authenticated', 'authenticated', ${principal.email.toLowerCase()}, now(),
      ${sql.json({ provider: 'email', providers: ['email'] })}, ${sql.json({})}, now(), now())
    on conflict (id) do nothing`;
}

/** The invitation's organization now acts for the transaction: as the new member, or as the system actor for a decline. */
async function joined(sql: Tx, principal: Principal, inv: Invitation, accept: boolean, requestId: string) {
  const claims = accept
    ? { sub: principal.userId, role: 'authenticated', org_id: inv.orgId, org_role: inv.role, email: principal.email }
    : systemClaims(inv.orgId);
  await sql`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
  const ctx: Ctx = {
    requestId,
    userId: accept ? principal.userId : null,
    orgId: inv.orgId,
    role: accept ? (inv.role as Ctx['role']) : 'system',
    sql,
    jobs: [],
  };
  if (!accept) {
    await recordChange(ctx, {
      event: 'invitation.declined',
      topics: [topics.org(inv.orgId)],
      data: { id: inv.id },
      audit: { entityType: 'invitation', entityId: inv.id, data: { userId: principal.userId } },
    });
    return { invitation: { id: inv.id, status: inv.status }, member: null };
  }
  const [member] = await sql`
    select id, user_id, role, display_name, email, phone, status, created_at, updated_at from app.members
    where org_id = ${inv.orgId} and user_id = ${principal.userId}`;
  const [organization] = await sql`select id, name, slug from app.organizations where id = ${inv.orgId}`;
  await recordChange(ctx, {
    event: 'member.added',
    topics: [topics.org(inv.orgId), topics.user(principal.userId)],
    data: member,
    audit: { entityType: 'member', entityId: member!.id as string, data: { invitationId: inv.id, role: inv.role } },
  });
  return { invitation: { id: inv.id, status: inv.status }, member, organization };
}

const invitationFields = '(i).id, (i).org_id, (i).email, (i).role, (i).status';

/** Accepts or declines one of the signed-in user's invitations, chosen from the list on /api/me. */
export async function respondToInvitation(sql: Tx, principal: Principal, id: string, accept: boolean, requestId: string) {
  const [inv] = await sql<(Invitation | { id: null })[]>`
    select ${sql.unsafe(invitationFields)} from (select app.respond_to_invitation(${id}, ${accept}) as i) r`;
  if (!inv?.id) throw notFound('Invitation');
  return joined(sql, principal, inv as Invitation, accept, requestId);
}

/** Accepts the invitation a mailed link's token names, for the signed-in account whose confirmed email was invited. */
export async function acceptInvitationLink(sql: Tx, principal: Principal, token: string, requestId: string) {
  const [r] = await sql<
    { outcome: 'unknown' | 'gone' | 'not_invitee' | 'accepted'; id: string | null; orgId: string; email: string; role: string; status: string }[]
  >`
    select outcome, ${sql.unsafe(invitationFields.replace(/\(i\)/g, '(invitation)'))} from app.accept_invitation_link(${hashOf(token)})`;
  if (!r || r.outcome === 'unknown') throw notFound('Invitation');
  if (r.outcome === 'gone') {
    throw new AppError(
      'gone',
      'This invitation link can no longer be used: it was revoked, already used, replaced by a newer one, or it expired. Ask for a new invitation.',
      {
        status: r.status,
      },
    );
  }
  if (r.outcome === 'not_invitee') {
    throw new AppError('forbidden', 'This invitation was sent to another email address: sign in with the invited, confirmed address to accept it');
  }
  return joined(sql, principal, r as Invitation, true, requestId);
}
