// The `invitation.send` job: mails an open invitation's current link. With Supabase Auth (SUPABASE_URL
// and the service-role key) an email without an account gets Supabase's own invite
// (auth.admin.inviteUserByEmail, its redirect carrying our link); GoTrue refuses to invite an existing
// account ("email_exists"), which then gets the app's own mail through the outbound adapter (Resend, or
// the local .eml sink) with the same link. Without Supabase every invitation is the app's own mail.
// Which way it went is kept on the invitation but never shown to admins: it would tell them whether
// the email has an account.
import { createClient, isAuthApiError, type SupabaseClient } from '@supabase/supabase-js';
import ws from 'ws';
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { openSecret, type SealedSecret } from '../crypto/secrets.js';
import { outboundAdapter, OutboundError } from '../email/outbound.js';
import { systemFrom } from '../email/system-from.js';
import { defineJob, PermanentJobError } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { recordChange, topics } from '../realtime.js';
import { invitationLink } from './invitations.js';

interface Pending {
  id: string;
  email: string;
  role: string;
  status: string;
  expiresAt: Date;
  tokenSealed: SealedSecret | null;
  orgName: string;
  inviterName: string | null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

let admin: { key: string; client: SupabaseClient } | undefined;

/** Supabase Auth's admin client (server side only: it holds the service-role key), or null without Supabase. */
function supabaseAdmin(): SupabaseClient | null {
  const s = config().supabase;
  if (!s) return null;
  if (!s.serviceRoleKey) throw new PermanentJobError('SUPABASE_SERVICE_ROLE_KEY is not set: invitations cannot go through Supabase Auth');
  const key = `${s.url} ${s.serviceRoleKey}`;
  if (admin?.key !== key) {
    admin = {
      key,
      client: createClient(s.url, s.serviceRoleKey, {
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        // Node.js 20 has no WebSocket of its own, and createClient builds its realtime client at once.
        realtime: { transport: ws as never },
      }),
    };
  }
  return admin.client;
}

/** Supabase's invite: 'invited', or 'has_account' when GoTrue says the email is already registered. */
async function supabaseInvite(client: SupabaseClient, inv: Pending, link: string): Promise<'invited' | 'has_account'> {
  const { error } = await client.auth.admin.inviteUserByEmail(inv.email, {
    redirectTo: link,
    data: { invited_to_org: inv.orgName, invited_by: inv.inviterName },
  });
  if (!error) return 'invited';
  if (isAuthApiError(error) && (error.code === 'email_exists' || error.code === 'user_already_exists')) return 'has_account';
  // 5xx, 429 and network failures are retried; any other refusal will not change by retrying.
  const status = typeof error.status === 'number' ? error.status : 0;
  if (status === 0 || status === 429 || status >= 500) throw new Error(`Supabase Auth invite failed (${status || 'network'}): ${error.message}`);
  throw new PermanentJobError(`Supabase Auth refused the invitation (${status} ${error.code ?? ''}): ${error.message}`);
}

/** The app's own invitation mail, for an email that already has an account (or any email without Supabase). */
async function appMail(inv: Pending, link: string, idempotencyKey: string) {
  const who = inv.inviterName ? `${inv.inviterName} invited you` : 'You are invited';
  const until = inv.expiresAt.toUTCString();
  const text = [
    `${who} to join ${inv.orgName} on Banxway as ${inv.role}.`,
    '',
    `Accept the invitation: ${link}`,
    '',
    `The link works until ${until}. Sign in with ${inv.email} to accept it. If you did not expect this invitation, you can ignore this email.`,
  ].join('\n');
  const html =
    `<p>${escapeHtml(who)} to join <strong>${escapeHtml(inv.orgName)}</strong> on Banxway as ${escapeHtml(inv.role)}.</p>` +
    `<p><a href="${escapeHtml(link)}">Accept the invitation</a></p>` +
    `<p>The link works until ${escapeHtml(until)}. Sign in with ${escapeHtml(inv.email)} to accept it. ` +
    'If you did not expect this invitation, you can ignore this email.</p>';
  const from = systemFrom();
  try {
    await outboundAdapter().send(
      {
        from,
        to: [{ address: inv.email }],
        cc: [],
        bcc: [],
        replyTo: null,
        subject: `${who} to ${inv.orgName} on Banxway`,
        text,
        html,
        messageId: `${idempotencyKey}@${from.address.split('@')[1]}`,
        inReplyTo: null,
        references: [],
        attachments: [],
        tags: [{ name: 'kind', value: 'invitation' }],
      },
      { idempotencyKey },
    );
  } catch (error) {
    if (error instanceof OutboundError && error.permanent) throw new PermanentJobError(`The invitation mail was refused: ${error.message}`);
    throw error;
  }
}

/** Notes on the invitation that its mail went (or why it did not), and tells the admins' screens. */
async function recordDelivery(ctx: Ctx, id: string, how: 'supabase_invite' | 'app_mail' | null, failure: string | null) {
  const [row] = await ctx.sql<{ id: string | null }[]>`
    select (i).id, (i).sent_at, (i).send_count, (i).delivery_error from (select app.record_invitation_delivery(${id}, ${how}, ${failure}) as i) r`;
  if (row?.id) await recordChange(ctx, { event: 'invitation.updated', topics: [topics.org(ctx.orgId)], data: row });
}

export const sendInvitationJob = defineJob({
  ...jobSpecs.invitationSend,
  // Commits before and after the outside calls, never around them. Safe to run again: Supabase re-sends
  // an invite to an account that has not accepted yet, and the app's mail goes once per link (its
  // idempotency key is the link's job).
  async perform({ transact, orgId, payload, job }) {
    const inv = await transact(async (ctx) => {
      const [row] = await ctx.sql<Pending[]>`
        select i.id, i.email, i.role, i.status, i.expires_at, i.token_sealed, o.name as org_name, nullif(m.display_name, '') as inviter_name
        from app.member_invitations i join app.organizations o on o.id = i.org_id
          left join app.members m on m.org_id = i.org_id and m.user_id = i.invited_by
        where i.id = ${payload.invitationId} and i.org_id = ${ctx.orgId}`;
      return row;
    });
    // Revoked, answered, expired or renewed since: the link this job was for is not the one to send.
    if (!inv || inv.status !== 'pending' || !inv.tokenSealed || inv.expiresAt <= new Date()) return;
    const link = invitationLink(openSecret<string>(inv.tokenSealed, orgId));
    const client = supabaseAdmin();
    const delivery = client && (await supabaseInvite(client, inv, link)) === 'invited' ? 'supabase_invite' : 'app_mail';
    if (delivery === 'app_mail') await appMail(inv, link, `invitation-${job.id}`);
    await transact((ctx) => recordDelivery(ctx, inv.id, delivery, null));
  },
  async onDead({ ctx, payload, error }) {
    await recordDelivery(ctx, payload.invitationId, null, error.replace(/^\w*Error: /, '').slice(0, 1000));
  },
});
