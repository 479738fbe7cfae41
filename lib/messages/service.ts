// Messages on a thread: the conversation as the web app shows it, replies on the thread's channel
// (sending is a job; the status then follows delivery events), and drafts that are edited, then sent.
// Drafts are visible to the team (a shared inbox) but changed only by their author or a manager.
import { isOwnRecord, requireKeyScope } from '../api-keys/scopes.js';
import addressparser from 'nodemailer/lib/addressparser';
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { makeSnippet } from '../email/quoted.js';
import { messageIdentifiers } from '../logistics/identifiers.js';
import { AppError, invalid, notFound } from '../errors.js';
import { decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { can } from '../http/permissions.js';
import { recordChange, topics } from '../realtime.js';
import { channelSender } from './senders.js';
import type { ChannelSender, OutgoingFile } from './sending-channel.js';
import { rollUp } from '../threads/roll-up.js';
import { announceMessage, mediaError } from './announce.js';
import { templateVariables } from '../templates/given.js';

export const messageListQuery = z.object({
  ...pageQuery,
  order: z.enum(['asc', 'desc']).default('asc'),
});

const emailAddress = z.string().trim().toLowerCase().pipe(z.email('must be an email address'));

const recipientObject = z.strictObject({
  address: emailAddress,
  name: z.string().trim().max(200).optional(),
});

/**
 * A recipient as `{ address, name? }` or as a string, `"a@b.c"` or `"Name <a@b.c>"` (read by
 * nodemailer's address parser, quoted names and encoded words included): exactly one address.
 */
const recipient = z.preprocess((value, c) => {
  if (typeof value !== 'string') return value;
  const parsed = value.length <= 1000 ? addressparser(value, { flatten: true }) : [];
  const one = parsed.length === 1 ? parsed[0] : undefined;
  if (!one?.address || !emailAddress.safeParse(one.address).success) {
    c.addIssue({ code: 'custom', input: value, message: 'must be one email address: "a@b.c", "Name <a@b.c>" or { "address", "name" }' });
    return z.NEVER;
  }
  return one.name ? { address: one.address, name: one.name } : { address: one.address };
}, recipientObject);

const content = {
  text: z.string().max(200_000).optional(),
  html: z.string().max(1_000_000).optional(),
  to: z.array(recipient).min(1).max(50).optional(),
  cc: z.array(recipient).max(50).optional(),
  bcc: z.array(recipient).max(50).optional(),
  subject: z.string().trim().max(1000).optional(),
  attachmentIds: z.array(z.uuid()).max(20).optional(),
};

/** An approved WhatsApp template (outside the 24-hour window), or a DLT template id for SMS. */
const template = z.strictObject({
  name: z.string().trim().min(1).max(512),
  language: z.string().trim().min(2).max(10).default('en'),
  parameters: z.array(z.string().max(1024)).max(20).default([]),
});

export const replyBody = z
  .strictObject({
    ...content,
    template: template.optional(),
    /** A reply template (/api/templates) whose rendering is the reply's text (or HTML) and subject. */
    templateId: z.uuid().optional(),
    variables: templateVariables.optional(),
    draft: z.boolean().default(false),
  })
  .refine((v) => v.draft || v.text || v.html || v.template || v.templateId || v.attachmentIds?.length, {
    message: 'a reply needs text, html, a template, a templateId or attachments (or draft: true)',
    path: ['text'],
  })
  .refine((v) => !v.variables || v.templateId, { message: 'go with a templateId', path: ['variables'] })
  .refine((v) => !v.templateId || (v.text === undefined && v.html === undefined), {
    message: 'the template writes the text: send either text/html or a templateId',
    path: ['templateId'],
  });

export const draftUpdate = z.strictObject(content).refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const columns = (sql: Ctx['sql']) => sql`
  m.id, m.thread_id, m.channel, m.channel_id, m.kind, m.direction, m.status, m.from_address, m.from_name, m.to_recipients,
  m.cc_recipients, m.bcc_recipients, m.reply_to, m.subject, m.body_text, m.body_html, m.body_new_text, m.snippet, m.content_type,
  m.rfc_message_id, m.is_auto_reply, m.is_bounce, m.error_code, m.error_message, m.call_duration_seconds, ${mediaError(sql)}, m.transcript,
  m.template, m.intent, m.sentiment, m.sentiment_score, m.urgency, m.summary, m.language, m.entities, m.author_id,
  m.occurred_at, m.sent_at, m.delivered_at, m.read_at, m.failed_at, m.status_changed_at, m.created_at, m.updated_at,
  coalesce((select json_agg(json_build_object('id', a.id, 'filename', a.filename, 'contentType', a.content_type,
      'sizeBytes', a.size_bytes, 'inline', a.is_inline, 'contentId', a.content_id, 'status', a.status) order by a.created_at)
    from app.attachments a where a.message_id = m.id), '[]'::json) as attachments`;

export interface Message {
  id: string;
  threadId: string;
  status: string;
  direction: string;
  authorId: string | null;
  occurredAt: Date;
  [key: string]: unknown;
}

async function threadFor(ctx: Ctx, threadId: string) {
  const [thread] = await ctx.sql<{ id: string; channel: string; channelId: string | null; counterpart: string | null; subject: string; status: string }[]>`
    select id, channel, channel_id, counterpart, subject, status from app.threads where id = ${threadId} and org_id = ${ctx.orgId}`;
  if (!thread) throw notFound('Thread');
  return thread;
}

export async function listMessages(ctx: Ctx, threadId: string, q: z.infer<typeof messageListQuery>) {
  await threadFor(ctx, threadId);
  const sql = ctx.sql;
  // By the messages' own date, ties in the order they arrived.
  const after = decodeCursor(q.cursor, z.tuple([z.iso.datetime({ offset: true }), z.number().int()]));
  const asc = q.order === 'asc';
  const rows = await sql<(Message & { arrival: string; sortAt: string })[]>`
    select ${columns(sql)}, m.arrival, ${exactInstant(sql, 'm.occurred_at', 'sort_at')} from app.messages m
    where m.org_id = ${ctx.orgId} and m.thread_id = ${threadId}
      ${after ? (asc ? sql`and (m.occurred_at, m.arrival) > (${after[0]}::timestamptz, ${after[1]}::bigint)` : sql`and (m.occurred_at, m.arrival) < (${after[0]}::timestamptz, ${after[1]}::bigint)`) : sql``}
    order by m.occurred_at ${asc ? sql`asc` : sql`desc`}, m.arrival ${asc ? sql`asc` : sql`desc`}
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, Number(r.arrival)]);
  return { ...page, data: page.data.map(({ arrival: _a, sortAt: _s, ...m }) => m) };
}

export async function getMessage(ctx: Ctx, id: string): Promise<Message> {
  const [m] = await ctx.sql<Message[]>`select ${columns(ctx.sql)} from app.messages m where m.id = ${id} and m.org_id = ${ctx.orgId}`;
  if (!m) throw notFound('Message');
  return m;
}

/**
 * The text and sanitised HTML of a composed message; text is derived from HTML when only HTML is given.
 * The HTML libraries (about 700 KB) load only when a message has HTML, so listing and plain-text
 * replies never pay for them on a cold start.
 */
/** The stored bodies of a reply or draft, with its subject and the identifiers the two name. */
async function bodies(input: { text?: string; html?: string }, subject: string | null) {
  const h = input.html ? await import('../email/html.js') : null;
  const html = h && input.html ? h.sanitizeEmailHtml(input.html) : null;
  const text = input.text ?? (h && html ? h.htmlToText(html) : '');
  return { subject, bodyText: text, bodyHtml: html, bodyNewText: text, snippet: makeSnippet(text), identifiers: messageIdentifiers({ subject, body: text }) };
}

/** Attaches the files (in the request's order) and lets the channel's sender refuse what it cannot carry. */
async function attachToMessage(ctx: Ctx, messageId: string, threadId: string, ids: string[] | undefined, sender: ChannelSender) {
  if (!ids) return;
  await ctx.sql`update app.attachments set message_id = null where message_id = ${messageId} and id <> all(${ids}::uuid[])`;
  const files: OutgoingFile[] = [];
  for (const [i, id] of ids.entries()) {
    const [a] = await ctx.sql<OutgoingFile[]>`
      update app.attachments set message_id = ${messageId}, thread_id = ${threadId}
      where id = ${id} and org_id = ${ctx.orgId} and status = 'ready' and (message_id is null or message_id = ${messageId})
      returning id, filename, content_type, size_bytes::float8 as size_bytes`;
    if (!a) throw invalid(`body.attachmentIds.${i}`, 'is not an uploaded, confirmed attachment free to use');
    files.push(a);
  }
  sender.checkAttachments?.(files);
}

function announce(ctx: Ctx, event: 'message.created' | 'message.updated', message: Message) {
  return announceMessage(ctx, message.id, { action: event, data: { status: message.status } }, event);
}

/** Counts a reply template's use by the message made from it, if any (the template engine loads only then). */
async function countTemplateUse(ctx: Ctx, messageId: string) {
  const templates = await import('../templates/service.js');
  await templates.countTemplateUse(ctx, messageId);
}

/** Queues a message for sending on its channel (the job moves it along the status model). */
async function queue(ctx: Ctx, message: { id: string; threadId: string }, channel: string) {
  const sender = channelSender(channel);
  // The sender checks the message and may write its text (a template's), so the snippet is read after it.
  await sender.enqueue(ctx, message.id);
  const [queued] = await ctx.sql<{ occurredAt: Date; snippet: string | null }[]>`
    update app.messages set status = 'queued', occurred_at = now() where id = ${message.id} returning occurred_at, snippet`;
  await rollUp(ctx, {
    threadId: message.threadId,
    messageId: message.id,
    at: queued!.occurredAt,
    snippet: queued!.snippet ?? '',
    direction: 'outbound',
    source: 'reply',
  });
}

const templateWithText = () => invalid('body.text', 'does not go with a WhatsApp template, which is sent as approved: send either text or a template');

/**
 * A reply made from a reply template: its rendering becomes the text (or HTML) and the subject (unless
 * the reply gives one), and then goes through every rule free text does: WhatsApp's 24-hour window,
 * the SMS channel's DLT templates.
 */
async function fromReplyTemplate(ctx: Ctx, thread: { id: string; channel: string }, input: z.infer<typeof replyBody>) {
  if (!input.templateId) return { input, replyTemplate: null };
  if (input.template && thread.channel === 'whatsapp') {
    throw invalid('body.templateId', 'does not go with a WhatsApp template, which is sent as approved: send one or the other');
  }
  const { replyFromTemplate } = await import('../templates/service.js');
  const r = await replyFromTemplate(ctx, thread, input.templateId, input.variables ?? {});
  const rendered = {
    ...input,
    ...(r.html !== null ? { html: r.html } : { text: r.text ?? '' }),
    subject: input.subject ?? r.subject ?? undefined,
  };
  return { input: rendered, replyTemplate: r.template };
}

export async function reply(ctx: Ctx, threadId: string, request: z.infer<typeof replyBody>) {
  const thread = await threadFor(ctx, threadId);
  const { input, replyTemplate } = await fromReplyTemplate(ctx, thread, request);
  if (input.template && thread.channel === 'email')
    throw invalid('body.template', 'only WhatsApp and SMS replies use approved templates: a reply template goes in templateId');
  // WhatsApp sends an approved template as it was approved: text beside it would be stored, never sent.
  if (input.template && thread.channel === 'whatsapp' && (input.text || input.html)) throw templateWithText();
  const sender = channelSender(thread.channel);
  const from = await sender.resolveFrom(ctx, thread);
  const to = input.to ?? (thread.counterpart ? [{ address: thread.counterpart }] : undefined);
  if (!to && !input.draft) throw invalid('body.to', 'is required: the thread has no counterpart to reply to');
  if (!input.draft) requireKeyScope(ctx, 'replies.send', 'send replies (save a draft instead)');
  const [row] = await ctx.sql<{ id: string }[]>`
    insert into app.messages ${ctx.sql({
      orgId: ctx.orgId,
      threadId,
      channel: thread.channel,
      channelId: from.channelId,
      direction: 'outbound',
      status: 'draft',
      fromAddress: from.address,
      toRecipients: ctx.sql.json((to ?? []) as never),
      ccRecipients: ctx.sql.json((input.cc ?? []) as never),
      bccRecipients: ctx.sql.json((input.bcc ?? []) as never),
      ...(await bodies(input, input.subject ?? thread.subject)),
      template: input.template ? ctx.sql.json(input.template as never) : null,
      authorId: ctx.userId,
      ...(replyTemplate || ctx.apiKey
        ? { metadata: ctx.sql.json({ ...(replyTemplate ? { replyTemplate } : {}), ...(ctx.apiKey ? { apiKeyId: ctx.apiKey.id } : {}) } as never) }
        : {}),
    } as never)}
    returning id`;
  await attachToMessage(ctx, row!.id, threadId, input.attachmentIds, sender);
  if (!input.draft) {
    await queue(ctx, { id: row!.id, threadId }, thread.channel);
    if (replyTemplate) await countTemplateUse(ctx, row!.id);
  }
  const message = await getMessage(ctx, row!.id);
  await announce(ctx, 'message.created', message);
  return message;
}

async function ownDraft(ctx: Ctx, id: string) {
  const message = await getMessage(ctx, id);
  if (message.status !== 'draft') throw new AppError('conflict', `The message is ${message.status}, not a draft`);
  const [meta] = ctx.apiKey ? await ctx.sql<{ metadata: unknown }[]>`select metadata from app.messages where id = ${id}` : [];
  if (!isOwnRecord(ctx, message.authorId, meta?.metadata ?? null) && !can(ctx.role as never, 'threads.delete')) {
    throw new AppError('forbidden', "Only the author (or a manager) changes someone's draft");
  }
  return message;
}

export async function updateDraft(ctx: Ctx, id: string, input: z.infer<typeof draftUpdate>) {
  const draft = await ownDraft(ctx, id);
  if (draft.template && draft.channel === 'whatsapp' && (input.text || input.html)) throw templateWithText();
  const changes: Record<string, unknown> = {};
  if (input.text !== undefined || input.html !== undefined) Object.assign(changes, await bodies(input, input.subject ?? (draft.subject as string | null)));
  else if (input.subject !== undefined) {
    changes.identifiers = messageIdentifiers({ subject: input.subject, body: draft.bodyText as string | null });
  }
  if (input.to) changes.toRecipients = ctx.sql.json(input.to as never);
  if (input.cc) changes.ccRecipients = ctx.sql.json(input.cc as never);
  if (input.bcc) changes.bccRecipients = ctx.sql.json(input.bcc as never);
  if (input.subject !== undefined) changes.subject = input.subject;
  if (Object.keys(changes).length) {
    await ctx.sql`update app.messages set ${ctx.sql(changes as never)} where id = ${id}`;
    // An AI draft a person edited is theirs now: the next compose writes a new draft instead of over it.
    await ctx.sql`update app.messages set metadata = metadata || '{"editedByHand": true}'::jsonb where id = ${id} and metadata ? 'ai'`;
  }
  await attachToMessage(ctx, id, draft.threadId, input.attachmentIds, channelSender(draft.channel as string));
  const message = await getMessage(ctx, id);
  await announce(ctx, 'message.updated', message);
  return message;
}

/** A [bracketed placeholder] an AI draft leaves for what it could not know (our own [#BX-…] tag is not one). */
const PLACEHOLDER = /\[(?!#BX-)[^[\]\n]{1,80}\]/g;

/** An AI draft is sent only once the member has filled in every placeholder it left. */
async function refuseUnfilledPlaceholders(ctx: Ctx, id: string) {
  const [row] = await ctx.sql<{ bodyText: string | null; ai: boolean }[]>`select body_text, metadata ? 'ai' as ai from app.messages where id = ${id}`;
  if (!row?.ai) return;
  const left = [...new Set(row.bodyText?.match(PLACEHOLDER) ?? [])];
  if (left.length) throw invalid('body.text', `still has placeholders to fill in before sending: ${left.join(', ')}`);
}

export async function sendDraft(ctx: Ctx, id: string) {
  requireKeyScope(ctx, 'replies.send', 'send replies');
  const draft = await ownDraft(ctx, id);
  const recipients = draft.toRecipients as unknown[];
  if (!recipients.length) throw invalid('body.to', 'the draft has no recipient');
  if (!draft.bodyText && !draft.bodyHtml && !draft.template && !(draft.attachments as unknown[]).length) throw invalid('body.text', 'the draft is empty');
  await refuseUnfilledPlaceholders(ctx, id);
  await queue(ctx, draft, draft.channel as string);
  // A draft made from a reply template counts as a use when it is sent.
  await countTemplateUse(ctx, id);
  const message = await getMessage(ctx, id);
  await announce(ctx, 'message.updated', message);
  return message;
}

export async function deleteDraft(ctx: Ctx, id: string) {
  const draft = await ownDraft(ctx, id);
  await ctx.sql`update app.attachments set message_id = null where message_id = ${id}`;
  await ctx.sql`delete from app.messages where id = ${id}`;
  await recordChange(ctx, { event: 'message.deleted', topics: [topics.thread(ctx.orgId, draft.threadId)], data: { id } });
  return null;
}
