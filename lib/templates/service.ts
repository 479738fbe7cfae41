// Reply templates (canned responses): CRUD (GET/POST /api/templates, GET/PATCH/DELETE
// /api/templates/{id}), preview against a real thread, and the text a reply made from one carries
// (replyFromTemplate, called by lib/messages/service.ts). A template is shared with the organization
// (managers write those: templates.manage) or personal (its owner's alone; RLS hides it from others).
import * as z from 'zod';
import { announceItem, requireMayWrite, uniqueName, VISIBILITIES, type Kind } from '../library/shared.js';
import type { Ctx } from '../context.js';
import { AppError, invalid, notFound } from '../errors.js';
import { escapeLike } from '../db/like.js';
import { csvList, decodeCursor, pageQuery, toPage } from '../pagination.js';
import { tag } from '../threads/tags.js';
import { templateVariables } from './given.js';
import { analyze, renderTemplate, TemplateError, type TemplateIssue } from './render.js';
import { isTextVariable, RESERVED_NAMES, templateSchema, templateValues } from './variables.js';

export const TEMPLATE_CHANNELS = ['email', 'whatsapp', 'sms'] as const;

/**
 * Values for a reply template's variables, by name: a declared one (`eta`), or a built-in one the
 * thread lacks (`contact.firstName`). The same for a reply, a preview and a macro's reply step.
 */

const KIND: Kind = { plural: 'templates', singular: 'template', entityType: 'reply_template' };

const declaredVariable = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,49}$/, 'must be a name of letters, digits and _ (up to 50), starting with a letter')
    .refine((n) => !RESERVED_NAMES.has(n), 'is the name of a built-in group of variables')
    // Names every object has (constructor, toString, valueOf…): never a variable, whatever a lookup meets.
    .refine((n) => !(n in Object.prototype), 'is a name reserved by the template language'),
  description: z.string().trim().max(200).nullable().default(null),
});

const fields = {
  name: z.string().trim().min(1).max(200),
  channels: z
    .array(z.enum(TEMPLATE_CHANNELS))
    .min(1)
    .max(3)
    .refine((c) => new Set(c).size === c.length, 'must not name a channel twice'),
  /** `text` for every channel; `html` for HTML mail (values HTML-escaped), email only. */
  format: z.enum(['text', 'html']),
  subject: z.string().trim().min(1).max(1000).nullable(),
  body: z.string().min(1).max(100_000),
  folder: z.string().trim().min(1).max(100).nullable(),
  tags: z.array(tag).max(30),
  variables: z
    .array(declaredVariable)
    .max(20)
    .refine((v) => new Set(v.map((x) => x.name)).size === v.length, 'must not declare a name twice'),
  visibility: z.enum(VISIBILITIES),
};

export const templateCreate = z.strictObject({
  ...fields,
  format: fields.format.default('text'),
  subject: fields.subject.optional(),
  folder: fields.folder.optional(),
  tags: fields.tags.default([]),
  variables: fields.variables.default([]),
  visibility: fields.visibility.default('personal'),
});

export const templateUpdate = z
  .strictObject(fields)
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const templateListQuery = z.object({
  ...pageQuery,
  q: z.string().trim().min(1).max(200).optional(),
  folder: z.string().trim().min(1).max(100).optional(),
  tag: csvList(tag),
  channel: z.enum(TEMPLATE_CHANNELS).optional(),
  visibility: z.enum(VISIBILITIES).optional(),
});

export const templatePreviewBody = z.strictObject({
  threadId: z.uuid(),
  /** Values for the template's own variables, or for a built-in one the thread lacks (`contact.firstName`). */
  variables: templateVariables.optional(),
});

export interface ReplyTemplate {
  id: string;
  name: string;
  channels: (typeof TEMPLATE_CHANNELS)[number][];
  format: 'text' | 'html';
  subject: string | null;
  body: string;
  folder: string | null;
  tags: string[];
  variables: { name: string; description: string | null }[];
  visibility: (typeof VISIBILITIES)[number];
  ownerId: string | null;
  usageCount: number;
  lastUsedAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const columns = (sql: Ctx['sql']) => sql`
  r.id, r.name, r.channels, r.format, r.subject, r.body, r.folder, r.tags, r.variables,
  case when r.owner_id is null then 'organization' else 'personal' end as visibility, r.owner_id,
  r.usage_count, r.last_used_at, r.created_by, r.created_at, r.updated_at`;

const cursorShape = z.tuple([z.number().int(), z.string(), z.uuid()]);

export async function listTemplates(ctx: Ctx, q: z.infer<typeof templateListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, cursorShape);
  const rows = await sql<ReplyTemplate[]>`
    select ${columns(sql)} from app.reply_templates r
    where r.org_id = ${ctx.orgId} and (r.owner_id is null or r.owner_id = ${ctx.userId})
      ${q.q ? sql`and r.name ilike ${`%${escapeLike(q.q)}%`}` : sql``}
      ${q.folder ? sql`and r.folder = ${q.folder}` : sql``}
      ${q.tag ? sql`and r.tags && ${q.tag}::text[]` : sql``}
      ${q.channel ? sql`and ${q.channel} = any(r.channels)` : sql``}
      ${q.visibility === 'organization' ? sql`and r.owner_id is null` : q.visibility === 'personal' ? sql`and r.owner_id is not null` : sql``}
      ${after ? sql`and (r.usage_count < ${after[0]} or (r.usage_count = ${after[0]} and (r.name, r.id) > (${after[1]}, ${after[2]}::uuid)))` : sql``}
    order by r.usage_count desc, r.name, r.id
    limit ${sql.unsafe(String(q.limit + 1))}`;
  return toPage(rows, q.limit, (r) => [r.usageCount, r.name, r.id]);
}

/** A template the caller may use: the organization's, or their own (a 404 otherwise). */
export async function getTemplate(ctx: Ctx, id: string): Promise<ReplyTemplate> {
  const [row] = await ctx.sql<ReplyTemplate[]>`
    select ${columns(ctx.sql)} from app.reply_templates r
    where r.id = ${id} and r.org_id = ${ctx.orgId} and (r.owner_id is null or r.owner_id = ${ctx.userId})`;
  if (!row) throw notFound('Template');
  return row;
}

/** The template's parts checked against its variables: a 422 naming body.body / body.subject for each issue. */
function checkTemplate(t: { channels: string[]; format: string; subject: string | null; body: string; variables: { name: string }[] }) {
  if (t.format === 'html' && (t.channels.length !== 1 || t.channels[0] !== 'email')) {
    throw invalid('body.format', 'html is for email only: a template for WhatsApp or SMS is text');
  }
  if (t.subject && !t.channels.includes('email')) throw invalid('body.subject', 'is for email: add email to channels or leave it out');
  const schema = templateSchema(t.variables.map((v) => v.name));
  const issues = [...(t.subject ? analyze(t.subject, 'subject', schema).issues : []), ...analyze(t.body, 'body', schema).issues];
  if (issues.length) throw templateInvalid(issues, (i) => `body.${i.part}`);
}

function templateInvalid(issues: TemplateIssue[], pathOf: (i: TemplateIssue) => string) {
  return new AppError('validation_failed', `The template cannot be used: ${issues.map((i) => `${i.part}: ${i.message}`).join('; ')}`, {
    issues: issues.map((i) => ({ path: pathOf(i), message: i.message })),
  });
}

export async function createTemplate(ctx: Ctx, input: z.infer<typeof templateCreate>) {
  requireMayWrite(ctx, KIND, input.visibility);
  checkTemplate({ ...input, subject: input.subject ?? null });
  const { visibility, variables, ...rest } = input;
  const [row] = await uniqueName(
    KIND,
    input.name,
    () =>
      ctx.sql<{ id: string }[]>`
      insert into app.reply_templates ${ctx.sql({
        ...rest,
        variables: ctx.sql.json(variables as never),
        orgId: ctx.orgId,
        ownerId: visibility === 'personal' ? ctx.userId : null,
        createdBy: ctx.userId,
      } as never)}
      returning id`,
  );
  const created = await getTemplate(ctx, row!.id);
  await announceItem(ctx, KIND, 'reply_template.created', created, created);
  return created;
}

export async function updateTemplate(ctx: Ctx, id: string, input: z.infer<typeof templateUpdate>) {
  const current = await getTemplate(ctx, id);
  requireMayWrite(ctx, KIND, current.visibility);
  if (input.visibility) requireMayWrite(ctx, KIND, input.visibility);
  const next = { ...current, ...input };
  checkTemplate(next);
  const { visibility, variables, ...rest } = input;
  const changes: Record<string, unknown> = { ...rest };
  if (variables) changes.variables = ctx.sql.json(variables as never);
  if (visibility) changes.ownerId = visibility === 'personal' ? (current.ownerId ?? ctx.userId) : null;
  await uniqueName(KIND, next.name, () => ctx.sql`update app.reply_templates set ${ctx.sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`);
  const updated = await getTemplate(ctx, id);
  // A template that became personal or shared is announced where it now is.
  await announceItem(ctx, KIND, 'reply_template.updated', updated, updated);
  return updated;
}

export async function deleteTemplate(ctx: Ctx, id: string) {
  const current = await getTemplate(ctx, id);
  requireMayWrite(ctx, KIND, current.visibility);
  await ctx.sql`delete from app.reply_templates where id = ${id} and org_id = ${ctx.orgId}`;
  await announceItem(ctx, KIND, 'reply_template.deleted', current, { id });
  return null;
}

/** The reply's values by name; a name that is not a text variable of the template is a 422 at `path.<name>`. */
function checkGiven(schema: ReturnType<typeof templateSchema>, given: Record<string, string>, path: string) {
  for (const name of Object.keys(given)) {
    if (!isTextVariable(schema, name)) throw invalid(`${path}.${name}`, 'is not a variable of this template');
  }
}

/**
 * A macro's reply step runs with nobody to fill the template's own variables: the step gives each of
 * them (a 422 at `path.<name>` for each it lacks), and each value it gives names a variable of the template.
 */
export function requireDeclaredValues(t: ReplyTemplate, given: Record<string, string>, path: string) {
  checkGiven(templateSchema(t.variables.map((v) => v.name)), given, path);
  const lacking = t.variables.filter((v) => !given[v.name]).map((v) => v.name);
  if (lacking.length) {
    throw new AppError('validation_failed', `The template's own variables need values here: ${lacking.join(', ')}`, {
      issues: lacking.map((name) => ({ path: `${path}.${name}`, message: 'is a variable of the template: give its value' })),
    });
  }
}

async function renderFor(ctx: Ctx, t: ReplyTemplate, threadId: string, given: Record<string, string>, path: string) {
  const declared = t.variables.map((v) => v.name);
  const schema = templateSchema(declared);
  checkGiven(schema, given, path);
  const values = await templateValues(ctx, threadId, declared, given);
  try {
    return renderTemplate(t, schema, values);
  } catch (error) {
    if (error instanceof TemplateError) throw templateInvalid(error.issues, () => 'body.templateId');
    throw error;
  }
}

function requireChannel(t: ReplyTemplate, channel: string, path: string) {
  if (!(t.channels as string[]).includes(channel)) {
    throw invalid(path, `is a template for ${t.channels.join(', ')}, not for this ${channel} thread`);
  }
}

/** POST /api/templates/{id}/preview: the template rendered on a real thread, and the variables it has no value for. */
export async function previewTemplate(ctx: Ctx, id: string, input: z.infer<typeof templatePreviewBody>) {
  const t = await getTemplate(ctx, id);
  const [thread] = await ctx.sql<{ channel: string }[]>`select channel from app.threads where id = ${input.threadId} and org_id = ${ctx.orgId}`;
  if (!thread) throw invalid('body.threadId', 'is not a thread of this organization');
  requireChannel(t, thread.channel, 'body.threadId');
  const rendered = await renderFor(ctx, t, input.threadId, input.variables ?? {}, 'body.variables');
  return { templateId: t.id, threadId: input.threadId, channel: thread.channel, ...rendered };
}

/** The template a reply (or a macro's reply step, at `path`) names: a 422 at `path` when it is not one the caller may use. */
export async function templateToUse(ctx: Ctx, templateId: string, path = 'body.templateId'): Promise<ReplyTemplate> {
  try {
    return await getTemplate(ctx, templateId);
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_found') throw invalid(path, 'is not a template of this organization you may use');
    throw error;
  }
}

/**
 * The text (or HTML) and subject of a reply made from a template on this thread, with the reply's
 * values; refused (422) when the template is not the caller's to use, not for this channel, names an
 * unknown variable, or a variable it shows has no value. The use counts once the reply is queued
 * (countTemplateUse), not for a draft.
 */
export async function replyFromTemplate(ctx: Ctx, thread: { id: string; channel: string }, templateId: string, given: Record<string, string>) {
  const t = await templateToUse(ctx, templateId);
  requireChannel(t, thread.channel, 'body.templateId');
  const rendered = await renderFor(ctx, t, thread.id, given, 'body.variables');
  if (rendered.missing.length) {
    throw new AppError(
      'validation_failed',
      `The template shows variables this thread has no value for: ${rendered.missing.join(', ')}; give them in variables`,
      {
        issues: rendered.missing.map((name) => ({ path: `body.variables.${name}`, message: 'has no value on this thread: give one' })),
        missing: rendered.missing,
      },
    );
  }
  return { template: { id: t.id, name: t.name }, subject: rendered.subject, text: rendered.text, html: rendered.html };
}

/**
 * A template's use: a reply made from it (its metadata.replyTemplate) queued for sending, at once or as
 * a draft sent later. Called by the one function that queues replies (lib/messages/service.ts queue).
 */
export async function countTemplateUse(ctx: Ctx, messageId: string) {
  await ctx.sql`
    update app.reply_templates r set usage_count = r.usage_count + 1, last_used_at = now()
    from app.messages m
    where m.id = ${messageId} and m.org_id = ${ctx.orgId} and m.metadata ? 'replyTemplate'
      and r.org_id = m.org_id and r.id::text = m.metadata->'replyTemplate'->>'id'`;
}
