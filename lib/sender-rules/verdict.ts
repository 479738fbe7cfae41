// Whether a sender's new message belongs in the inbox, or is kept out of it as spam or bulk: the one
// rule every way in calls (email ingest for IMAP polls, imports and quarantine reprocessing; WhatsApp,
// SMS and calls from Exotel). Mail kept out is still stored, on a thread of status `spam` or `bulk`
// that starts no work: it opens nothing, reopens nothing, and is neither analysed nor linked.
//
// The organization's sender rules decide first (the most specific match wins: an address over its
// domain, a subdomain over its parent domain): `allow` keeps the message in the inbox whatever its
// headers say, `block` makes it spam, `bulk` bulk. Without a rule the headers decide (emailSignals).
// One exception comes before any rule: the app's own notification mail coming back (notificationEcho).
import { NOTIFICATION_MESSAGE_ID_PREFIX } from '../notifications/types.js';
import type { Ctx } from '../context.js';

export const SENDER_RULE_KINDS = ['block', 'allow', 'bulk'] as const;
export const SENDER_RULE_MATCHES = ['address', 'domain', 'phone'] as const;
export type SenderRuleKind = (typeof SENDER_RULE_KINDS)[number];
export type SenderRuleMatch = (typeof SENDER_RULE_MATCHES)[number];

/** The statuses of threads kept out of the inbox. */
export const FILTERED_STATUSES = ['spam', 'bulk'] as const;
export type Filtered = (typeof FILTERED_STATUSES)[number];

export const isFiltered = (status: string): status is Filtered => (FILTERED_STATUSES as readonly string[]).includes(status);

/** Who sent a message, as the rules see them. */
export type Sender = { address: string } | { phone: string };

export interface Verdict {
  /** Where the message goes: null for the inbox. */
  filter: Filtered | null;
  /** Why, for the message's metadata and support: `rule: block domain example.com`, `header: list-unsubscribe`. */
  reason: string | null;
  /** The sender rule that decided, if one did. */
  ruleId: string | null;
  /** Whether an `allow` rule decided. */
  allowed?: boolean;
}

export const INBOX: Verdict = { filter: null, reason: null, ruleId: null };

/** The domain and each parent domain of an address (`a.b.example.com` → itself, `b.example.com`, `example.com`). */
export function domainsOf(address: string): string[] {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  const labels = domain.split('.');
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'));
}

const ruleVerdict: Record<SenderRuleKind, Filtered | null> = { allow: null, block: 'spam', bulk: 'bulk' };

/**
 * The verdict on a new message from `sender`. `headers` is what the message's own headers say
 * (emailSignals for email; nothing for WhatsApp, SMS and calls), which a rule overrides.
 */
export async function senderVerdict(ctx: Ctx, sender: Sender | null, headers: Verdict = INBOX): Promise<Verdict> {
  if (!sender) return headers;
  const sql = ctx.sql;
  const [rule] =
    'address' in sender
      ? await sql<{ id: string; kind: SenderRuleKind; match: SenderRuleMatch; value: string }[]>`
          select id, kind, match, value from app.sender_rules
          where org_id = ${ctx.orgId}
            and ((match = 'address' and value = ${sender.address.toLowerCase()}) or (match = 'domain' and value = any(${domainsOf(sender.address)}::text[])))
          order by (match = 'address') desc, length(value) desc
          limit 1`
      : await sql<{ id: string; kind: SenderRuleKind; match: SenderRuleMatch; value: string }[]>`
          select id, kind, match, value from app.sender_rules
          where org_id = ${ctx.orgId} and match = 'phone' and value = ${sender.phone}`;
  if (!rule) return headers;
  return { filter: ruleVerdict[rule.kind], reason: `rule: ${rule.kind} ${rule.match} ${rule.value}`, ruleId: rule.id, allowed: rule.kind === 'allow' };
}

export interface EmailSignals {
  headers: Record<string, string>;
  isAutoReply: boolean;
  autoReplyReason: string | null;
  isBounce: boolean;
  isAbuseReport: boolean;
}

/** The addresses and list ids a header names: `<mailto:a@b>`, `Name <list.example.com>`. */
const bracketed = (value: string | undefined) => [...(value ?? '').matchAll(/<([^>]*)>/g)].map((m) => m[1]!.trim().toLowerCase());

/**
 * Whether a mailing-list header names one of the organization's own lists: a Google Group or
 * Microsoft 365 group such as ops@forwarder.com relays customers' mail with List-Id, List-Post,
 * List-Unsubscribe and Precedence: list (e.g. `List-ID: <usb-storage.lists.one-eyed-alien.net>`,
 * `List-Post: <mailto:usb-storage@lists.one-eyed-alien.net>` on a Google Workspace group), and that
 * mail is the team's work, not a newsletter.
 */
function ownList(headers: Record<string, string>, ownDomains: ReadonlySet<string>): boolean {
  const under = (host: string) => [...ownDomains].some((d) => host === d || host.endsWith(`.${d}`));
  const posts = bracketed(headers['list-post']).filter((u) => u.startsWith('mailto:'));
  if (posts.some((u) => under(u.slice(7).split('?')[0]!.split('@').pop() ?? ''))) return true;
  return bracketed(headers['list-id']).some((id) => under(id));
}

/** What notificationEcho reads of an email: its headers, and the original a bounce or abuse report returns. */
export interface EchoSigns {
  headers: Record<string, string>;
  bounce?: { originalMessageId?: string } | null;
  abuseReport?: { originalMessageId?: string } | null;
}

/**
 * The app's own notification mail coming back (lib/notifications/email-job.ts): the mail itself
 * delivered or forwarded into a polled mailbox (its X-Banxway-Notification header), a reply or an
 * auto-reply that quotes its Message-ID, or a delivery failure report (or abuse report) whose returned
 * original is one (its Message-ID only appears in the returned part, lib/email/report.ts). It is kept
 * out of the inbox as bulk, so it never starts a thread anyone works, whichever way it came (outbound
 * too: a member answering it from the organization's own domain) and whatever the sender rules say:
 * ingest asks this before senderVerdict, so an `allow` rule never puts it in the inbox.
 */
export function notificationEcho(email: EchoSigns): Verdict | null {
  const headers = email.headers;
  if (headers['x-banxway-notification'] !== undefined) return { filter: 'bulk', reason: 'header: x-banxway-notification', ruleId: null };
  const quoted = `${headers['in-reply-to'] ?? ''} ${headers['references'] ?? ''}`.toLowerCase();
  if (quoted.includes(`<${NOTIFICATION_MESSAGE_ID_PREFIX}`)) return { filter: 'bulk', reason: 'reply to notification mail', ruleId: null };
  const returned = email.bounce?.originalMessageId ?? email.abuseReport?.originalMessageId;
  if (returned?.toLowerCase().startsWith(NOTIFICATION_MESSAGE_ID_PREFIX)) return { filter: 'bulk', reason: 'report on notification mail', ruleId: null };
  return null;
}

/**
 * What an email's own headers say about it, before any rule:
 * - `X-Spam-Flag: YES` (SpamAssassin, and the hosts that run it upstream) is spam.
 * - `List-Unsubscribe` (RFC 2369, required of bulk senders by Gmail and Yahoo since February 2024:
 *   https://support.google.com/mail/answer/81126, as Resend's docs repeat at
 *   https://resend.com/docs/dashboard/emails/add-unsubscribe-to-transactional-emails; Mailchimp puts
 *   it on every campaign: https://blog.mailchimp.com/list-unsubscribe-header-added-to-mailchimp/),
 *   `List-Id` (RFC 2919) or `Precedence: bulk | list | junk` is bulk, unless the list is the
 *   organization's own (ownList).
 * - Auto-replies, bounces and abuse reports are answers to our own mail and stay where auto-reply.ts
 *   and the bounce parser put them: an out-of-office that carries `Precedence: bulk` (as vacation
 *   responders do) is not a newsletter. Only a message whose sole auto-reply sign is that Precedence
 *   is judged here.
 */
export function emailSignals(email: EmailSignals, ownDomains: ReadonlySet<string>): Verdict {
  const h = email.headers;
  if (/^\s*yes\b/i.test(h['x-spam-flag'] ?? '')) return { filter: 'spam', reason: 'header: x-spam-flag', ruleId: null };
  if (email.isBounce || email.isAbuseReport) return INBOX;
  if (email.isAutoReply && !email.autoReplyReason?.startsWith('precedence')) return INBOX;
  if (ownList(h, ownDomains)) return INBOX;
  const bulk = (reason: string): Verdict => ({ filter: 'bulk', reason: `header: ${reason}`, ruleId: null });
  if (h['list-unsubscribe'] !== undefined) return bulk('list-unsubscribe');
  if (h['list-id'] !== undefined) return bulk('list-id');
  const precedence = (h['precedence'] ?? h['x-precedence'] ?? '').trim().toLowerCase();
  if (['bulk', 'list', 'junk'].includes(precedence)) return bulk(`precedence: ${precedence}`);
  return INBOX;
}

/**
 * Whether an email is machine-made mail that is kept on its thread but is no work (auto-replies,
 * bounces, abuse reports: it reopens nothing and starts no clock). auto-reply.ts counts
 * `Precedence: bulk | junk` as an auto-reply sign; from an allowed sender that header alone is a
 * list's, and the team asked to see the sender's mail as work.
 */
export function machineMade(email: EmailSignals, verdict: Verdict): boolean {
  if (email.isBounce || email.isAbuseReport) return true;
  if (!email.isAutoReply) return false;
  return !(verdict.allowed && email.autoReplyReason?.startsWith('precedence'));
}
