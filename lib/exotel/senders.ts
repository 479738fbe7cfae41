// Replies on WhatsApp and SMS threads (the senders lib/messages/senders.ts uses): the thread's channel (or
// the organization's first active one of that kind), WhatsApp's 24-hour customer-service window (free
// text and files only within 24 hours of the customer's last message; outside it an approved template
// with the right number of parameters, else 422), the files WhatsApp carries, DLT templates for SMS,
// and the send job. Everything refused here is the agent's 422, before anything is queued.
import type { Ctx } from '../context.js';
import { makeSnippet } from '../email/quoted.js';
import { AppError, invalid } from '../errors.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { sendingChannel, type ChannelSender, type OutgoingFile } from '../messages/sending-channel.js';
import type { ExotelSettings, SmsTemplate } from './common.js';
import { dltTemplateFor, fillDltTemplate, matchesDltTemplate } from './dlt.js';
import { whatsAppMediaRefusal } from './whatsapp-media.js';

export const WHATSAPP_WINDOW_MS = 24 * 3_600_000;

interface Pending {
  id: string;
  threadId: string;
  channelId: string | null;
  bodyText: string | null;
  template: { name: string; language: string; parameters: string[] } | null;
}

async function pending(ctx: Ctx, messageId: string): Promise<{ m: Pending; settings: ExotelSettings; lastInboundAt: Date | null }> {
  const [m] = await ctx.sql<(Pending & { settings: ExotelSettings | null; lastInboundAt: Date | null })[]>`
    select m.id, m.thread_id, m.channel_id, m.body_text, m.template, c.settings, t.last_inbound_at
    from app.messages m join app.threads t on t.id = m.thread_id
      left join app.channels c on c.id = m.channel_id
    where m.id = ${messageId} and m.org_id = ${ctx.orgId}`;
  if (!m) throw new AppError('not_found', 'Message not found');
  return { m, settings: m.settings ?? ({} as ExotelSettings), lastInboundAt: m.lastInboundAt };
}

function checkParameters(expected: number, given: string[]) {
  if (given.length !== expected) {
    throw invalid('body.template.parameters', `the template takes ${expected} parameter${expected === 1 ? '' : 's'}, ${given.length} given`);
  }
  given.forEach((p, i) => {
    if (!p.trim()) throw invalid(`body.template.parameters.${i}`, 'must not be empty');
  });
}

/** What the inbox shows for a template message. */
async function describeTemplate(ctx: Ctx, m: Pending, text: string) {
  if (m.bodyText) return;
  await ctx.sql`update app.messages set body_text = ${text}, body_new_text = ${text}, snippet = ${text.slice(0, 200)}, content_type = 'template' where id = ${m.id}`;
}

/** The files of a message, in the order it lists them (and WhatsApp sends them). */
async function messageFiles(ctx: Ctx, messageId: string): Promise<OutgoingFile[]> {
  return ctx.sql<OutgoingFile[]>`
    select id, filename, content_type, size_bytes::float8 as size_bytes from app.attachments
    where org_id = ${ctx.orgId} and message_id = ${messageId} order by created_at, id`;
}

/** Each file must be an image or a document WhatsApp carries, within its limit: 422 naming body.attachmentIds.N. */
function checkWhatsAppFiles(files: OutgoingFile[]) {
  files.forEach((file, i) => {
    const refusal = whatsAppMediaRefusal(file);
    if (refusal) throw invalid(`body.attachmentIds.${i}`, refusal);
  });
}

export const whatsappSender: ChannelSender = {
  resolveFrom: (ctx, thread) => sendingChannel(ctx, 'whatsapp', thread.channelId, 'No active WhatsApp channel to send from: add one first'),
  checkAttachments: checkWhatsAppFiles,
  async enqueue(ctx, messageId) {
    const { m, settings, lastInboundAt } = await pending(ctx, messageId);
    const files = await messageFiles(ctx, messageId);
    if (m.template) {
      if (files.length)
        throw invalid('body.attachmentIds', 'do not go with a WhatsApp template, which is sent as approved: send the files in a reply of their own');
      const t = (settings.templates ?? []).find((x) => x.name === m.template!.name && x.language === m.template!.language);
      if (!t) throw invalid('body.template.name', `is not an approved template of this WhatsApp channel (${m.template.name}, ${m.template.language})`);
      checkParameters(t.parameterCount, m.template.parameters);
      await describeTemplate(ctx, m, `[template ${t.name}] ${m.template.parameters.join(' | ')}`.trim());
    } else {
      const open = lastInboundAt && Date.now() - lastInboundAt.getTime() < WHATSAPP_WINDOW_MS;
      if (!open) {
        throw new AppError(
          'validation_failed',
          'Outside the 24-hour WhatsApp window (the customer has not written in the last 24 hours): only an approved template can be sent; reply with { template: { name, language, parameters } }',
          {
            issues: [{ path: 'body.template', message: 'is required outside the 24-hour customer-service window' }],
            windowClosedAt: lastInboundAt ? new Date(lastInboundAt.getTime() + WHATSAPP_WINDOW_MS) : null,
          },
        );
      }
      if (!m.bodyText?.trim() && !files.length) throw invalid('body.text', 'a WhatsApp message needs text or a file');
      // Checked when the files were attached too; a draft's are checked again here, in the order it lists them.
      checkWhatsAppFiles(files);
    }
    await enqueue(ctx, jobSpecs.exotelSend, { messageId }, { dedupeKey: messageId });
  },
};

/** The channel's DLT templates as an error message lists them. */
function templateList(templates: SmsTemplate[]) {
  return templates.map((t) => ({ id: t.id, name: t.name, body: t.body ?? null }));
}

function describeTemplates(templates: SmsTemplate[]): string {
  if (!templates.length) return 'the channel has none';
  return templates.map((t) => (t.body ? `${t.name} (${t.id}): "${t.body}"` : `${t.name} (${t.id}): no registered text`)).join('; ');
}

const noTextFor = (t: SmsTemplate) =>
  invalid(
    'body.template.name',
    `${t.name} (${t.id}) has no registered text on this channel: an admin enters it (PATCH /api/channels/{id} with smsTemplates[].body)`,
  );

/**
 * Which DLT template an SMS goes out with, and its text: free text must match one of the channel's
 * registered templates (the first it matches); a template named by id or name takes either text that
 * matches it, or no text and its parameters, which fill its placeholders. Every refusal is a 422.
 */
function smsTemplateAndText(templates: SmsTemplate[], m: Pending): { template: SmsTemplate; text: string } {
  const text = m.bodyText?.trim() ? m.bodyText : null;
  if (m.template) {
    const wanted = m.template.name;
    const t = templates.find((x) => x.id === wanted || x.name === wanted);
    if (!t) throw invalid('body.template.name', `is not a DLT template (id or name) of this SMS channel; its templates: ${describeTemplates(templates)}`);
    if (!t.body) throw noTextFor(t);
    if (text) {
      if (m.template.parameters.length) throw invalid('body.template.parameters', 'go with a template sent without text: the text already fills the template');
      if (!matchesDltTemplate(t.body, text)) throw invalid('body.text', `does not match the DLT template ${t.name} (${t.id}): "${t.body}"`);
      return { template: t, text };
    }
    checkParameters(t.parameterCount, m.template.parameters);
    const filled = fillDltTemplate(t.body, m.template.parameters);
    if ('index' in filled) throw invalid(`body.template.parameters.${filled.index}`, filled.message);
    return { template: t, text: filled.text };
  }
  if (!text) throw invalid('body.text', "an SMS needs text matching one of the channel's DLT templates, or a template with its parameters");
  const t = dltTemplateFor(templates, text);
  if (!t) {
    throw new AppError('validation_failed', `body.text: matches none of this SMS channel's DLT templates (${describeTemplates(templates)})`, {
      issues: [
        {
          path: 'body.text',
          message: `matches none of this SMS channel's DLT templates: write it as one of them, each {#var#} standing for up to 30 characters (${describeTemplates(templates)})`,
        },
      ],
      templates: templateList(templates),
    });
  }
  return { template: t, text };
}

function refuseSmsFiles(files: OutgoingFile[]) {
  if (files.length) throw invalid('body.attachmentIds', 'an SMS carries no attachments: send files by WhatsApp or email');
}

export const smsSender: ChannelSender = {
  resolveFrom: (ctx, thread) => sendingChannel(ctx, 'sms', thread.channelId, 'No active SMS channel to send from: add one first'),
  checkAttachments: refuseSmsFiles,
  async enqueue(ctx, messageId) {
    const { m, settings } = await pending(ctx, messageId);
    refuseSmsFiles(await messageFiles(ctx, messageId));
    const { template, text } = smsTemplateAndText(settings.smsTemplates ?? [], m);
    if (text.length > 2000) throw invalid('body.text', 'is longer than an SMS may be (2000 characters)');
    // The template is decided here, where a mismatch is still the agent's 422; the job sends with it.
    const filled = !m.bodyText?.trim();
    await ctx.sql`
      update app.messages set metadata = metadata || ${ctx.sql.json({ dltTemplateId: template.id })}
        ${filled ? ctx.sql`, body_text = ${text}, body_new_text = ${text}, snippet = ${makeSnippet(text)}` : ctx.sql``}
      where id = ${m.id}`;
    await enqueue(ctx, jobSpecs.exotelSend, { messageId }, { dedupeKey: messageId });
  },
};
