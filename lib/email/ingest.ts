// The inbound email pipeline shared by the IMAP poller and the archive import: dedupe, direction,
// contact and customer, thread (replies, our token, subject + counterpart), reopen rules, the message
// row, thread roll-ups, shipment links from freight identifiers, bounces, and the realtime events.
// Mail that the sender rules or its own headers keep out of the inbox (lib/sender-rules/verdict.ts)
// is stored on a thread of status spam or bulk, and starts no work.
import { randomUUID } from 'node:crypto';
import { enqueueAnalysis } from '../jobs/specs.js';
import { storeInboundAttachment } from '../attachments/service.js';
import type { Ctx } from '../context.js';
import { canonicalIdentifiers, extractIdentifiersFromMessage, type FreightIdentifiers } from '../logistics/identifiers.js';
import { linkShipments } from '../logistics/links.js';
import { contactByEmail } from '../contacts/identity.js';
import { CONTACT_EMAIL_MAX, contactName } from '../contacts/limits.js';
import { announceMessage } from '../messages/announce.js';
import { continuesThread, rollUp } from '../threads/roll-up.js';
import { counterpartLock, lockCounterpart, takeLocks } from '../threads/counterpart.js';
import { emailSignals, INBOX, isFiltered, machineMade, notificationEcho, senderVerdict } from '../sender-rules/verdict.js';
import { isFreeMailDomain, type EmailAddress, type ParsedEmail } from './parse.js';
import { normalizeSubject, parseThreadToken, tokenRange } from './threading.js';

export interface Mailbox {
  /** The mailbox channel the message came from (null for an archive import without one). */
  channelId: string | null;
  /** The mailbox's own address: mail from it is outbound. */
  address: string | null;
  /** The organization's own email domains, when the caller read them once for many messages (organizationDomains). */
  ownDomains?: string[];
  folder?: string;
  uid?: number;
  rawStoragePath?: string | null;
}

export interface IngestOutcome {
  outcome: 'stored' | 'duplicate';
  messageId: string;
  threadId: string;
  direction: 'inbound' | 'outbound';
  identifiers: FreightIdentifiers;
  threadCreated: boolean;
  /** Where the sender rules or the headers put it: null for the inbox, else `spam` or `bulk`. */
  filter: 'spam' | 'bulk' | null;
}

/**
 * Subject threading only joins a thread with activity within this many days of the message's own date
 * (before or after it, so an archive imported in any order threads as the live inbox did).
 */
const SUBJECT_WINDOW_DAYS = 14;

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

interface OrgContext {
  ownDomains: Set<string>;
}

/** The organization's own email domains (mail from them is outbound; they never match a customer). */
export async function organizationDomains(ctx: Ctx): Promise<string[]> {
  const rows = await ctx.sql<{ domain: string }[]>`select domain from app.organization_domains where org_id = ${ctx.orgId}`;
  return rows.map((r) => r.domain);
}

async function orgContext(ctx: Ctx, mailbox: Mailbox): Promise<OrgContext> {
  const ownDomains = new Set(mailbox.ownDomains ?? (await organizationDomains(ctx)));
  if (mailbox.address) ownDomains.add(domainOf(mailbox.address));
  return { ownDomains };
}

function isOwn(address: string, org: OrgContext, mailbox: Mailbox): boolean {
  const a = address.toLowerCase();
  if (mailbox.address && a.replace(/\+[^@]*@/, '@') === mailbox.address.toLowerCase().replace(/\+[^@]*@/, '@')) return true;
  return org.ownDomains.has(domainOf(a));
}

interface Parties {
  direction: 'inbound' | 'outbound';
  /** The external party of the conversation: the sender of inbound mail, the first outside recipient of outbound. */
  party: EmailAddress | null;
  /** The party's address when it is outside the organization (threads and contacts are kept per counterpart). */
  counterpart: string | null;
}

/** Mail from our own address or domain is outbound; the other side is its first outside recipient. */
function partiesOf(email: ParsedEmail, org: OrgContext, mailbox: Mailbox): Parties {
  const direction = email.from && isOwn(email.from.address, org, mailbox) ? 'outbound' : 'inbound';
  const party = direction === 'inbound' ? email.from : ([...email.to, ...email.cc].find((r) => !isOwn(r.address, org, mailbox)) ?? email.to[0] ?? null);
  return { direction, party, counterpart: party && !isOwn(party.address, org, mailbox) ? party.address : null };
}

/** The lock that serialises ingests of one message (its dedupe key) in the acting organization. */
const dedupeLock = (orgId: string, dedupeKey: string) => `${orgId}:${dedupeKey}`;

/**
 * Takes, in one global order, every lock that storing these messages in one transaction takes one by
 * one: first all dedupe keys, then all counterparts, each sorted (a single ingest also takes its
 * dedupe key before its counterpart). The poller stores runs of messages per transaction, and two
 * folders of a mailbox (the inbox and Sent) name the same customers in different orders: taken in mail
 * order, two runs' locks would wait on each other in a cycle, which PostgreSQL breaks by failing one.
 */
export async function lockForIngest(ctx: Ctx, emails: ParsedEmail[], mailbox: Mailbox): Promise<void> {
  const org = await orgContext(ctx, mailbox);
  const dedupe = new Set(emails.map((e) => dedupeLock(ctx.orgId, e.dedupeKey)));
  const counterparts = new Set(
    emails
      .map((e) => partiesOf(e, org, mailbox).counterpart)
      .filter((c): c is string => c !== null)
      .map((c) => counterpartLock(ctx.orgId, c)),
  );
  await takeLocks(ctx, [...[...dedupe].sort(), ...[...counterparts].sort()]);
}

/**
 * Contact the address reaches (lib/contacts/identity.ts: a merged contact's leads to the one it was
 * merged into), else customer by company domain (never a free-mail or our own domain); unknown
 * senders become contacts. An address longer than a contact's may be (no mail server takes one that
 * long) names no contact: the message and thread keep it.
 */
async function resolveContact(ctx: Ctx, party: EmailAddress, org: OrgContext): Promise<{ contactId: string; customerId: string | null } | null> {
  if (party.address.length > CONTACT_EMAIL_MAX) return null;
  const sql = ctx.sql;
  const existing = await contactByEmail(ctx, party.address);
  if (existing) return { contactId: existing.id, customerId: existing.customerId };
  const domain = domainOf(party.address);
  let customerId: string | null = null;
  if (!isFreeMailDomain(domain) && !org.ownDomains.has(domain)) {
    const candidates = await sql<{ id: string }[]>`
      select id from app.customers where org_id = ${ctx.orgId} and deleted_at is null and domains @> ${[domain]}::text[] limit 2`;
    // Two customers claiming one domain is ambiguous: match neither rather than guess.
    if (candidates.length === 1) customerId = candidates[0]!.id;
  }
  const [created] = await sql<{ id: string }[]>`
    insert into app.contacts (org_id, customer_id, name, email) values (${ctx.orgId}, ${customerId}, ${contactName(party.name)}, ${party.address})
    on conflict (org_id, email) where email is not null and deleted_at is null do update set updated_at = now()
    returning id`;
  return { contactId: created!.id, customerId };
}

interface ThreadRow {
  id: string;
  status: string;
  resolvedAt: Date | null;
  customerId: string | null;
  contactId: string | null;
}

async function findThread(
  ctx: Ctx,
  email: ParsedEmail,
  counterpart: string | null,
  normalized: string,
  at: Date,
  automated: boolean,
): Promise<ThreadRow | null> {
  const sql = ctx.sql;
  const cols = sql`t.id, t.merged_into_thread_id`;
  // The ways in, best first, as one statement (the lowest rank that finds a thread wins).
  const ways: ReturnType<typeof sql>[] = [];
  // 1. Replies: In-Reply-To or any References entry matching any id a message here is known by
  //    (app.messages_known_by: the GIN index on external_ids, which RLS would rule out for &&).
  const ids = [...new Set([...email.inReplyTo, ...email.references])];
  if (ids.length) {
    ways.push(sql`(select 1 as rank, ${cols} from app.messages_known_by(${ids}::text[]) m join app.threads t on t.id = m.thread_id
      order by m.occurred_at desc limit 1)`);
  }
  // 2. Our thread token, in any recipient address or the subject. A 12-digit subject tag is a prefix:
  //    should two threads share it, the counterpart's own wins.
  const tokenSources = [...email.to, ...email.cc, ...email.bcc].map((a) => a.address);
  tokenSources.push(email.headers['delivered-to'] ?? '', email.headers['x-original-to'] ?? '', email.subject);
  const tokens = [...new Set(tokenSources.map(parseThreadToken).filter((t): t is NonNullable<typeof t> => Boolean(t)))];
  tokens.forEach((token, i) => {
    const [lo, hi] = tokenRange(token);
    ways.push(sql`(select ${2 + i}::int as rank, ${cols} from app.threads t where t.org_id = ${ctx.orgId} and t.id between ${lo}::uuid and ${hi}::uuid
      order by (t.counterpart = ${counterpart}) desc nulls last, t.last_activity_at desc limit 1)`);
  });
  // 3. Same normalised subject with the same external counterpart, recently: headers stripped by a
  //    mobile client or a ticketing system. Never across counterparts, so two customers who write
  //    "Rate request" are never merged.
  //    The window is around the message's own date: the thread's activity reached to within 14 days
  //    before it, and began no later than 14 days after it.
  const window = sql`t.last_activity_at > ${at}::timestamptz - make_interval(days => ${SUBJECT_WINDOW_DAYS})
    and coalesce(least(t.first_inbound_at, t.first_outbound_at), t.last_activity_at) < ${at}::timestamptz + make_interval(days => ${SUBJECT_WINDOW_DAYS})`;
  if (counterpart && normalized) {
    ways.push(sql`(select ${2 + tokens.length}::int as rank, ${cols} from app.threads t
      where t.org_id = ${ctx.orgId} and t.counterpart_key = app.index_key(${counterpart}) and t.subject_key = app.index_key(${normalized})
        and t.counterpart = ${counterpart} and t.normalized_subject = ${normalized}
        and t.channel = 'email' and ${window}
      order by t.last_activity_at desc, t.created_at desc limit 1)`);
  }
  // 4. An auto-reply or a bounce that names no thread (an out-of-office answers with its own subject)
  //    joins the counterpart's most recent email thread of that time, whatever its subject.
  if (automated && counterpart) {
    ways.push(sql`(select ${3 + tokens.length}::int as rank, ${cols} from app.threads t
      where t.org_id = ${ctx.orgId} and t.counterpart_key = app.index_key(${counterpart}) and t.counterpart = ${counterpart}
        and t.channel = 'email' and ${window}
      order by t.last_activity_at desc, t.created_at desc limit 1)`);
  }
  if (ways.length === 0) return null;
  // A thread merged into another leads to the one it was merged into (merges keep that one step long).
  const [found] = await sql<ThreadRow[]>`
    select t.id, t.status, t.resolved_at, t.customer_id, t.contact_id
    from (${ways.reduce((all, way) => sql`${all} union all ${way}`)}) way
    join app.threads t on t.org_id = ${ctx.orgId} and t.id = coalesce(way.merged_into_thread_id, way.id)
    order by way.rank limit 1`;
  return found ?? null;
}

function messageTime(email: ParsedEmail): Date {
  const d = email.date;
  // A date in the future (a sender's wrong clock) or absurdly old would misplace the thread.
  if (!d || d.getTime() > Date.now() + 24 * 3_600_000 || d.getFullYear() < 1990) return new Date();
  return d;
}

/** A bounce marks the outbound message it reports on, and the recipient's address. */
async function applyBounce(ctx: Ctx, email: ParsedEmail): Promise<void> {
  const bounce = email.bounce;
  if (!bounce || bounce.permanent === false) return;
  if (bounce.originalMessageId) {
    const rows = await ctx.sql<{ id: string; threadId: string; status: string }[]>`
      update app.messages set status = 'bounced', failed_at = now(), error_code = ${bounce.status ?? 'bounced'},
        error_message = ${(bounce.diagnostic ?? 'The recipient server rejected the message').slice(0, 1000)}
      where org_id = ${ctx.orgId} and direction = 'outbound'
        and id in (select id from app.messages_known_by(${[bounce.originalMessageId]}::text[]))
      returning id, thread_id, status`;
    for (const m of rows) await announceMessage(ctx, m.id, { action: 'message.bounced', data: { status: bounce.status ?? null } });
  }
  if (bounce.recipients.length) {
    await ctx.sql`
      update app.contacts set email_status = 'bounced'
      where org_id = ${ctx.orgId} and email = any(${bounce.recipients}::text[]) and deleted_at is null`;
  }
}

/**
 * Stores one parsed email for the acting organization (system claims), exactly once per dedupe key.
 * Parse before calling (outside the transaction): parsing is CPU work that should not hold one.
 */
export async function ingestEmail(ctx: Ctx, email: ParsedEmail, mailbox: Mailbox): Promise<IngestOutcome> {
  const sql = ctx.sql;
  const identifiers = extractIdentifiersFromMessage({ subject: email.subject, body: email.text });
  // Statements issued together below travel in one write (postgres.js pipelines them on the
  // transaction's connection) and still run one after another, in order, on the server.
  // Serialise concurrent ingests of the same message (two overlapping polls, a poll and an import):
  // the duplicate check runs after the lock is held, so it sees what the lock's previous holder committed.
  const [, [dup]] = await Promise.all([
    takeLocks(ctx, [dedupeLock(ctx.orgId, email.dedupeKey)]),
    sql<{ id: string; threadId: string; direction: 'inbound' | 'outbound' }[]>`
      select id, thread_id, direction from app.messages where org_id = ${ctx.orgId} and dedupe_key = ${email.dedupeKey}`,
  ]);
  if (dup)
    return { outcome: 'duplicate', messageId: dup.id, threadId: dup.threadId, direction: dup.direction, identifiers, threadCreated: false, filter: null };

  const org = await orgContext(ctx, mailbox);
  const { direction, party, counterpart } = partiesOf(email, org, mailbox);
  const normalized = normalizeSubject(email.subject);
  const occurredAt = messageTime(email);
  // Our own notification mail coming back is bulk whichever way it came, before any sender rule (an
  // `allow` rule for the domain it came from must not put it in the inbox): notificationEcho. Else only
  // what comes in is judged; our own mail (the Sent folder, an import) always is the inbox's.
  const verdict =
    notificationEcho(email) ??
    (direction === 'inbound' ? await senderVerdict(ctx, email.from && { address: email.from.address }, emailSignals(email, org.ownDomains)) : INBOX);
  const filter = verdict.filter;
  // Auto-replies, bounces and abuse reports are recorded but never reopen a conversation.
  const automated = machineMade(email, verdict);

  // Contact and thread of a counterpart are found-or-created under its lock, so simultaneous mail from
  // a new sender makes one contact and one thread. The lock goes out first in the same write, and the
  // lookups queued behind it take their snapshots only once it is granted.
  const [, contact, found] = await Promise.all([
    counterpart ? lockCounterpart(ctx, counterpart) : undefined,
    counterpart && party ? resolveContact(ctx, party, org) : null,
    findThread(ctx, email, counterpart, normalized, occurredAt, automated),
  ]);
  let thread = found;
  let previousThreadId: string | null = null;
  // Machine-made mail joins the thread it found, whatever its status, unless one of the two is kept
  // out of the inbox and the other is not (continuesThread).
  const judged = !automated || filter !== null || (thread !== null && isFiltered(thread.status));
  if (thread && direction === 'inbound' && judged && !continuesThread(thread, occurredAt, filter)) {
    previousThreadId = thread.id;
    thread = null;
  }

  const threadCreated = !thread;
  let createThread: Promise<unknown> | undefined;
  if (!thread) {
    // The id is made here, so the message insert can follow in the same write. Machine-made mail that
    // starts a thread (an auto-reply to nothing we know) is no work: its thread starts resolved, and a
    // person's later message reopens it. Spam and bulk start a thread of that status.
    const status = filter ?? (automated ? 'resolved' : 'open');
    thread = { id: randomUUID(), status, resolvedAt: null, customerId: contact?.customerId ?? null, contactId: contact?.contactId ?? null };
    createThread = sql`
      insert into app.threads (id, org_id, subject, normalized_subject, channel, channel_id, customer_id, contact_id, counterpart,
        previous_thread_id, last_activity_at, status, resolved_at)
      values (${thread.id}, ${ctx.orgId}, ${email.subject.slice(0, 1000)}, ${normalized}, 'email', ${mailbox.channelId}, ${thread.customerId},
        ${thread.contactId}, ${counterpart}, ${previousThreadId}, ${occurredAt}, ${status}, ${status === 'resolved' ? occurredAt : null})`;
  }

  const externalIds = email.messageId ? [email.messageId] : [];
  const insertMessage = sql<{ id: string }[]>`
    insert into app.messages ${sql({
      orgId: ctx.orgId,
      threadId: thread.id,
      channel: 'email',
      channelId: mailbox.channelId,
      direction,
      status: direction === 'inbound' ? 'received' : 'sent',
      fromAddress: email.from?.address ?? null,
      fromName: email.from?.name ?? null,
      toRecipients: sql.json(email.to as never),
      ccRecipients: sql.json(email.cc as never),
      replyTo: email.replyTo[0]?.address ?? null,
      subject: email.subject,
      bodyText: email.text,
      bodyHtml: email.html,
      bodyNewText: email.newText,
      snippet: email.snippet,
      contentType: email.html && !email.text ? 'html' : 'text',
      rfcMessageId: email.messageId,
      inReplyTo: email.inReplyTo[0] ?? null,
      referencesIds: email.references,
      externalIds,
      identifiers: canonicalIdentifiers(identifiers),
      dedupeKey: email.dedupeKey,
      rawStoragePath: mailbox.rawStoragePath ?? null,
      rawSize: email.size,
      isAutoReply: automated && email.isAutoReply,
      isBounce: email.isBounce || email.isAbuseReport,
      occurredAt,
      sentAt: direction === 'outbound' ? occurredAt : null,
      metadata: sql.json({
        folder: mailbox.folder ?? null,
        uid: mailbox.uid ?? null,
        autoReplyReason: email.autoReplyReason,
        parseError: email.parseError ?? null,
        warnings: email.warnings.slice(0, 20),
        identifiers,
        ...(filter ? { filter, filterReason: verdict.reason, senderRuleId: verdict.ruleId } : {}),
      } as never),
    } as never)}
    returning id`;
  const [, [message]] = await Promise.all([createThread, insertMessage]);
  const messageId = message!.id;
  for (const a of email.attachments) {
    await storeInboundAttachment(ctx, {
      messageId,
      threadId: thread.id,
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
      contentId: a.contentId,
      inline: a.inline,
      // Customers' files are read and filed as documents; spam, bulk and our own sent copies are not.
      document: direction === 'inbound' && !filter ? 'email' : undefined,
    });
  }

  // Spam and bulk are kept, never worked on: no shipment links, no analysis.
  await Promise.all([
    filter ? undefined : linkShipments(ctx, messageId, thread.id, identifiers),
    email.isBounce ? applyBounce(ctx, email) : undefined,
    // Customer mail is analysed (intent, sentiment, urgency ...) by a job; machine-made mail is not.
    direction === 'inbound' && !automated && !filter ? enqueueAnalysis(ctx, messageId) : undefined,
  ]);
  await rollUp(ctx, {
    threadId: thread.id,
    messageId,
    at: occurredAt,
    snippet: email.snippet,
    direction,
    automated,
    filtered: filter !== null,
    created: threadCreated,
    source: 'email',
    fills: { customerId: contact?.customerId, contactId: contact?.contactId, counterpart, channelId: mailbox.channelId },
  });
  await announceMessage(ctx, messageId, undefined, 'message.created');
  return { outcome: 'stored', messageId, threadId: thread.id, direction, identifiers, threadCreated, filter };
}
