// The `notification.email` job: a member's notifications that wait to be mailed (email_state
// `pending`), in one mail. When it runs it first cancels those the member has seen (read in the app, or
// whose thread they opened after the notification came), then asks schedule.ts when the rest may go
// (quiet hours, digest rhythm): later means a job for then; now means every pending notification of
// the member whose own delay is over goes in one mail (waitFor: the digest window) through the
// outbound adapter (Resend, or the local .eml sink), from MAIL_SYSTEM_FROM, each linking to its thread
// in the web app (APP_URL), with a one-click unsubscribe (RFC 8058) for the types it holds. The mail is marked as the app's own (Auto-Submitted, an
// X-Banxway-Notification header, a Message-ID of ours) so that if it ever comes back into a polled
// mailbox it never starts a thread (lib/sender-rules/verdict.ts, notificationEcho).
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { outboundAdapter, OutboundError } from '../email/outbound.js';
import { systemFrom } from '../email/system-from.js';
import { defineJob, PermanentJobError } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { now } from '../time.js';
import { scheduleNotificationEmail } from './notify.js';
import { sendTime, type DeliverySettings } from './schedule.js';
import { NOTIFICATION_HEADER, NOTIFICATION_MESSAGE_ID_PREFIX, type NotificationType } from './types.js';
import { unsubscribeUrl } from './unsubscribe.js';

interface Pending {
  id: string;
  type: NotificationType;
  title: string;
  body: string | null;
  threadId: string | null;
  createdAt: Date;
  emailDueAt: Date;
}

interface Recipient {
  email: string | null;
  name: string;
  orgName: string;
  settings: DeliverySettings;
  lastEmailedAt: Date | null;
}

const EARLY_MS = 5_000;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function recipientOf(ctx: Ctx, userId: string): Promise<Recipient | null> {
  const [row] = await ctx.sql<
    {
      email: string | null;
      name: string;
      orgName: string;
      status: string;
      quietStart: string | null;
      quietEnd: string | null;
      timeZone: string;
      digest: DeliverySettings['digest'] | null;
      lastEmailedAt: Date | null;
    }[]
  >`
    select m.email, m.display_name as name, o.name as org_name, m.status,
      to_char(s.quiet_start, 'HH24:MI') as quiet_start, to_char(s.quiet_end, 'HH24:MI') as quiet_end,
      coalesce(s.time_zone, m.timezone, o.timezone, 'UTC') as time_zone, s.digest,
      (select max(n.emailed_at) from app.notifications n where n.org_id = m.org_id and n.user_id = m.user_id and n.email_state = 'sent') as last_emailed_at
    from app.members m join app.organizations o on o.id = m.org_id
    left join app.notification_settings s on s.org_id = m.org_id and s.user_id = m.user_id
    where m.org_id = ${ctx.orgId} and m.user_id = ${userId}`;
  if (!row || row.status !== 'active') return null;
  return {
    email: row.email,
    name: row.name,
    orgName: row.orgName,
    lastEmailedAt: row.lastEmailedAt,
    settings: { quietStart: row.quietStart, quietEnd: row.quietEnd, timeZone: row.timeZone, digest: row.digest ?? 'immediate' },
  };
}

/**
 * The digest window. A mail holds only notifications whose own delay is over, so each one had its
 * chance to be read first; one that came moments before the mail was to go would otherwise be mailed
 * seconds after it was made. So when the mail may go (`goes`) and other notifications are still within
 * their delay, it waits for the last of them, as long as that is due within one more delay
 * (NOTIFICATION_EMAIL_DELAY_MINUTES) of `goes`: notifications close together still make one mail, and
 * the first waits at most one delay longer. Those due later are left to their own job (and mail).
 * Returns when to run again, or null to send now.
 */
async function waitFor(ctx: Ctx, userId: string, ready: Date, goes: Date): Promise<Date | null> {
  const until = new Date(goes.getTime() + config().notifications.emailDelayMs);
  if (until.getTime() <= ready.getTime()) return null;
  const [row] = await ctx.sql<{ last: Date | null }[]>`
    select max(email_due_at) as last from app.notifications
    where org_id = ${ctx.orgId} and user_id = ${userId} and email_state = 'pending'
      and email_due_at > ${ready} and email_due_at <= ${until}`;
  return row?.last ?? null;
}

/**
 * Cancels what the member has seen, then either claims the pending notifications that are due for
 * this run's mail (`sending` under the job id) or queues the job for when mail may go. A run that
 * crashed after its claim finds its own claimed rows again and sends the same mail (same idempotency
 * key).
 */
async function claim(ctx: Ctx, userId: string, jobId: string): Promise<{ recipient: Recipient; rows: Pending[] } | null> {
  const sql = ctx.sql;
  const at = now();
  await sql`
    update app.notifications n set email_state = 'cancelled'
    where n.org_id = ${ctx.orgId} and n.user_id = ${userId} and n.email_state = 'pending'
      and (n.read_at is not null or exists (
        select 1 from app.thread_reads r where r.thread_id = n.thread_id and r.user_id = n.user_id and r.last_read_at >= n.created_at))`;
  const recipient = await recipientOf(ctx, userId);
  if (!recipient?.email) {
    // A member who left, was disabled or has no address is mailed nothing.
    await sql`update app.notifications set email_state = 'cancelled' where org_id = ${ctx.orgId} and user_id = ${userId} and email_state = 'pending'`;
    return null;
  }
  const [first] = await sql<{ dueAt: Date | null }[]>`
    select min(email_due_at) as due_at from app.notifications where org_id = ${ctx.orgId} and user_id = ${userId} and email_state = 'pending'`;
  const mine =
    await sql`select 1 as found from app.notifications where org_id = ${ctx.orgId} and user_id = ${userId} and email_state = 'sending' and email_batch = ${jobId} limit 1`;
  if (!first?.dueAt && mine.length === 0) return null;
  // A delivery may come a moment early (claims take jobs due within seconds): that is its time.
  const ready = new Date(at.getTime() + EARLY_MS);
  if (first?.dueAt && mine.length === 0) {
    const goes = sendTime(first.dueAt, recipient.settings, recipient.lastEmailedAt);
    if (goes.getTime() > ready.getTime()) {
      await scheduleNotificationEmail(ctx, userId, goes, `held:${jobId}`);
      return null;
    }
    const later = await waitFor(ctx, userId, ready, goes);
    if (later) {
      await scheduleNotificationEmail(ctx, userId, later, `held:${jobId}`);
      return null;
    }
  }
  // Only notifications whose own delay is over: one that came later waits for its own job.
  const rows = await sql<Pending[]>`
    update app.notifications set email_state = 'sending', email_batch = ${jobId}
    where org_id = ${ctx.orgId} and user_id = ${userId}
      and ((email_state = 'pending' and email_due_at <= ${ready}) or (email_state = 'sending' and email_batch = ${jobId}))
    returning id, type, title, body, thread_id, created_at, email_due_at`;
  rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  return rows.length ? { recipient, rows } : null;
}

const threadLink = (threadId: string) => `${config().appUrl}/threads/${threadId}`;

/** The mail: one notification, or a digest of several, each with its thread's link; unsubscribe per type. */
export async function composeNotificationMail(orgId: string, userId: string, recipient: Recipient, rows: Pending[]) {
  const types = [...new Set(rows.map((r) => r.type))];
  const subject = rows.length === 1 ? `${rows[0]!.title}` : `${rows.length} notifications in ${recipient.orgName}`.slice(0, 300);
  const perType = await Promise.all(types.map(async (t) => [t, await unsubscribeUrl(orgId, userId, [t])] as const));
  const allTypes = await unsubscribeUrl(orgId, userId, types);
  const text = [
    ...rows.flatMap((r) => [
      `- ${r.title}`,
      ...(r.body ? [`  ${r.body.replace(/\s+/g, ' ').slice(0, 300)}`] : []),
      ...(r.threadId ? [`  ${threadLink(r.threadId)}`] : []),
      '',
    ]),
    `You get these emails as a member of ${recipient.orgName} on Banxway.`,
    ...perType.map(([t, url]) => `Stop emails about ${t.replace(/_/g, ' ')}: ${url}`),
  ].join('\n');
  const html =
    '<ul>' +
    rows
      .map(
        (r) =>
          `<li><p>${r.threadId ? `<a href="${escapeHtml(threadLink(r.threadId))}">${escapeHtml(r.title)}</a>` : escapeHtml(r.title)}</p>` +
          (r.body ? `<p>${escapeHtml(r.body.slice(0, 300))}</p>` : '') +
          '</li>',
      )
      .join('') +
    '</ul>' +
    `<p style="color:#666;font-size:12px">You get these emails as a member of ${escapeHtml(recipient.orgName)} on Banxway. ` +
    perType.map(([t, url]) => `<a href="${escapeHtml(url)}">Stop emails about ${escapeHtml(t.replace(/_/g, ' '))}</a>`).join(' · ') +
    '</p>';
  return { subject, text, html, types, listUnsubscribe: allTypes };
}

export const sendNotificationEmailJob = defineJob({
  ...jobSpecs.notificationEmail,
  // Commits its claim before the send and the outcome after it, never around it. A rerun after a
  // crash sends the claimed rows again under the same idempotency key (the job's id), so once.
  async perform({ transact, orgId, payload, job }) {
    const claimed = await transact((ctx) => claim(ctx, payload.userId, job.id));
    if (!claimed) return;
    const { recipient, rows } = claimed;
    const mail = await composeNotificationMail(orgId, payload.userId, recipient, rows);
    const from = systemFrom();
    const domain = from.address.split('@')[1];
    try {
      await outboundAdapter().send(
        {
          from,
          to: [{ address: recipient.email!, name: recipient.name || null }],
          cc: [],
          bcc: [],
          replyTo: null,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: `${NOTIFICATION_MESSAGE_ID_PREFIX}${job.id}@${domain}`,
          inReplyTo: null,
          references: [],
          attachments: [],
          tags: [{ name: 'kind', value: 'notification' }],
          headers: {
            'Auto-Submitted': 'auto-generated',
            'X-Auto-Response-Suppress': 'All',
            [NOTIFICATION_HEADER]: mail.types.join(' '),
            'List-Unsubscribe': `<${mail.listUnsubscribe}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        },
        { idempotencyKey: `notification-${job.id}` },
      );
    } catch (error) {
      if (error instanceof OutboundError && error.permanent) throw new PermanentJobError(`The notification mail was refused: ${error.message}`);
      throw error;
    }
    await transact(
      (ctx) => ctx.sql`
        update app.notifications set email_state = 'sent', emailed_at = ${now()}
        where org_id = ${ctx.orgId} and user_id = ${payload.userId} and email_state = 'sending' and email_batch = ${job.id}`,
    );
  },
  async onDead({ ctx, payload, job }) {
    await ctx.sql`
      update app.notifications set email_state = 'failed'
      where org_id = ${ctx.orgId} and user_id = ${payload.userId} and email_state = 'sending' and email_batch = ${job.id}`;
  },
});
