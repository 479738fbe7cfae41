// WhatsApp numbers, SMS senders and voice ExoPhones through Exotel: the account credentials (API key,
// token, account sid, subdomain; sealed, never returned), DLT ids and templates, and each channel's
// webhook secret (random, shown once on creation and rotation; only its hash is stored; a rotated-out
// secret keeps working for 24 hours) with the exact callback URL to paste into Exotel.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { sealSecret } from '../crypto/secrets.js';
import { EXOTEL_SUBDOMAINS, type ExotelCredentials } from '../exotel/adapter.js';
import {
  callbackPath,
  callbackUrl,
  newWebhookSecret,
  normalizePhone,
  WEBHOOK_SECRET_GRACE_MS,
  type ExotelKind,
  type ExotelSettings,
  type SmsTemplate,
} from '../exotel/common.js';
import { DLT_VARIABLES, dltVariables, parseDltTemplate } from '../exotel/dlt.js';
import { whenFieldsValid } from '../validation.js';
import { AppError, invalid, notFound } from '../errors.js';
import { publicUrl } from '../config.js';
import { recordChange, topics } from '../realtime.js';

const name = z.string().trim().min(1).max(200);
const phone = z
  .string()
  .trim()
  .max(40)
  .transform((v, c) => {
    const e164 = normalizePhone(v);
    if (!e164) {
      c.addIssue({ code: 'custom', message: 'must be a phone number (E.164, or Indian national format)' });
      return z.NEVER;
    }
    return e164;
  });
/** An SMS sender: a number, or a 6-character DLT header such as SEAHWK. */
const smsSender = z.union(
  [
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9]{3,11}$/)
      .transform((v) => v.toUpperCase()),
    phone,
  ],
  {
    error: 'must be a phone number or a 3-11 character sender id',
  },
);

const credentials = z.strictObject({
  apiKey: z.string().trim().min(1).max(200),
  apiToken: z.string().trim().min(1).max(200),
  accountSid: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be the Exotel account sid'),
  subdomain: z.enum(EXOTEL_SUBDOMAINS).default('api.exotel.com'),
});

const waTemplate = z.strictObject({
  name: z
    .string()
    .trim()
    .regex(/^[a-z0-9_]{1,512}$/, 'must be the template name as approved (lower case, digits, _)'),
  language: z
    .string()
    .trim()
    .regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'must be a language code such as en or en_US'),
  parameterCount: z.number().int().min(0).max(20).default(0),
});
const waTemplates = z
  .array(waTemplate)
  .max(200)
  .refine((v) => new Set(v.map((t) => `${t.name}:${t.language}`)).size === v.length, 'must not list a template and language twice');

/**
 * A DLT content template: its id, our name for it, and its text exactly as registered (placeholders
 * `{#var#}`, `{#numeric#}`, ... as lib/exotel/dlt.ts knows them). The number of parameters is read
 * from the text; a `parameterCount` sent beside it must agree.
 */
const smsTemplate = z
  .strictObject({
    id: z
      .string()
      .trim()
      .regex(/^\d{10,25}$/, 'must be the DLT template id'),
    name: z.string().trim().min(1).max(200),
    body: z.string().trim().min(1).max(2000),
    parameterCount: z.number().int().min(0).max(20).optional(),
  })
  .superRefine((t, c) => {
    const { unknown } = parseDltTemplate(t.body);
    if (unknown.length) {
      const known = Object.keys(DLT_VARIABLES).map((v) => `{#${v}#}`);
      c.addIssue({ code: 'custom', path: ['body'], message: `has placeholders DLT does not know (${unknown.join(', ')}): use ${known.join(', ')}` });
    }
    const count = dltVariables(t.body).length;
    if (count > 20) c.addIssue({ code: 'custom', path: ['body'], message: `has ${count} placeholders, more than 20` });
    if (t.parameterCount !== undefined && t.parameterCount !== count) {
      c.addIssue({
        code: 'custom',
        path: ['parameterCount'],
        message: `is ${t.parameterCount}, but the body has ${count} placeholder${count === 1 ? '' : 's'}`,
      });
    }
  }, whenFieldsValid)
  .transform((t): SmsTemplate => ({ id: t.id, name: t.name, body: t.body, parameterCount: dltVariables(t.body).length }));
const smsTemplates = z
  .array(smsTemplate)
  .min(1)
  .max(200)
  .superRefine((list, c) => {
    for (const key of ['id', 'name'] as const) {
      const seen = new Set<string>();
      list.forEach((t, i) => {
        if (seen.has(t[key])) c.addIssue({ code: 'custom', path: [i, key], message: `lists the ${key} ${t[key]} twice` });
        seen.add(t[key]);
      });
    }
  }, whenFieldsValid);
const dltEntityId = z
  .string()
  .trim()
  .regex(/^\d{10,25}$/, 'must be the DLT principal entity id');

export const exotelChannelCreates = [
  z.strictObject({ kind: z.literal('whatsapp'), name, address: phone, exotel: credentials, templates: waTemplates.default([]) }),
  z.strictObject({
    kind: z.literal('sms'),
    name,
    address: smsSender,
    exotel: credentials,
    dltEntityId,
    smsTemplates,
  }),
  z.strictObject({ kind: z.literal('voice'), name, address: phone, exotel: credentials, record: z.boolean().default(true) }),
] as const;

/** The WhatsApp, SMS and voice shapes of POST /api/channels on their own. */
export const exotelChannelCreate = z.discriminatedUnion('kind', [...exotelChannelCreates]);
export type ExotelChannelCreate = z.infer<typeof exotelChannelCreate>;

/** Fields of PATCH /api/channels/{id} that only WhatsApp, SMS and voice channels take. */
export const exotelUpdateFields = {
  exotel: credentials.partial().optional(),
  templates: waTemplates.optional(),
  dltEntityId: dltEntityId.optional(),
  smsTemplates: smsTemplates.optional(),
  record: z.boolean().optional(),
};

export interface ExotelChannelUpdate {
  name?: string;
  address?: string;
  status?: 'active' | 'disabled';
  exotel?: Partial<z.infer<typeof credentials>>;
  templates?: z.infer<typeof waTemplates>;
  dltEntityId?: string;
  smsTemplates?: SmsTemplate[];
  record?: boolean;
}

/** The settings an API client sees (and the callback URL without its secret). */
export function exotelChannelView<B extends { id: string; kind: string }>(base: B, settings: Record<string, unknown>) {
  const s = settings as unknown as ExotelSettings;
  return {
    ...base,
    exotel: { subdomain: s.subdomain, accountSid: s.accountSid },
    ...(base.kind === 'whatsapp' ? { templates: s.templates ?? [] } : {}),
    ...(base.kind === 'sms' ? { dltEntityId: s.dltEntityId ?? null, smsTemplates: (s.smsTemplates ?? []).map((t) => ({ ...t, body: t.body ?? null })) } : {}),
    ...(base.kind === 'voice' ? { record: s.record ?? true } : {}),
    webhook: { url: `${publicUrl(callbackPath(base.id))}?token=<webhook secret>` },
  };
}

function webhookOnce(kind: ExotelKind, channelId: string, secret: string) {
  const url = callbackUrl(channelId, secret);
  const paste: Record<string, string> =
    kind === 'whatsapp'
      ? { whatsappCallback: url }
      : kind === 'sms'
        ? { incomingSms: url, smsStatusCallback: url }
        : { passthruApplet: url, callStatusCallback: url };
  return {
    secret,
    url,
    where: paste,
    note: 'Shown once: paste these URLs into Exotel now. Rotate the secret (POST /api/channels/{id}/rotate-webhook-secret) if it is lost.',
  };
}

function settingsOf(input: ExotelChannelCreate): ExotelSettings {
  const base = { subdomain: input.exotel.subdomain, accountSid: input.exotel.accountSid };
  if (input.kind === 'whatsapp') return { ...base, templates: input.templates };
  if (input.kind === 'sms') return { ...base, dltEntityId: input.dltEntityId, smsTemplates: input.smsTemplates };
  return { ...base, record: input.record };
}

function redacted(input: Record<string, unknown>): Record<string, unknown> {
  const e = input.exotel as Record<string, unknown> | undefined;
  if (!e) return input;
  const { apiKey, apiToken, ...rest } = e;
  return { ...input, exotel: { ...rest, ...(apiKey ? { apiKey: 'replaced' } : {}), ...(apiToken ? { apiToken: 'replaced' } : {}) } };
}

/**
 * POST /api/channels with kind whatsapp | sms | voice. `view` turns the stored row into the API shape
 * (the mailbox service's view, so every channel reads alike). Answers the channel and, once, its webhook secret.
 */
export async function createExotelChannel<V>(ctx: Ctx, input: ExotelChannelCreate, view: (id: string) => Promise<V>) {
  const sql = ctx.sql;
  const creds: ExotelCredentials = { ...input.exotel };
  const sealed = sealSecret(creds, ctx.orgId);
  const hook = newWebhookSecret();
  const [dup] = await sql`select 1 from app.channels where org_id = ${ctx.orgId} and kind = ${input.kind} and address = ${input.address}`;
  if (dup) throw new AppError('conflict', `A ${input.kind} channel for ${input.address} exists already`);
  const [row] = await sql<{ id: string }[]>`
    insert into app.channels (org_id, kind, name, address, settings, secret_ciphertext, secret_key_id, webhook_secret_hash)
    values (${ctx.orgId}, ${input.kind}, ${input.name}, ${input.address}, ${sql.json(settingsOf(input) as never)},
      ${sealed.ciphertext}, ${sealed.keyId}, ${hook.hash})
    returning id`;
  const id = row!.id;
  const channel = await view(id);
  await recordChange(ctx, {
    event: 'channel.created',
    topics: [topics.org(ctx.orgId)],
    data: channel,
    audit: { entityType: 'channel', entityId: id, data: redacted(input as never) },
  });
  return { ...channel, webhook: webhookOnce(input.kind, id, hook.secret) };
}

/** PATCH of a WhatsApp, SMS or voice channel: name, status, number, credentials, templates, DLT ids. */
export async function updateExotelChannel<V extends { status: string }>(
  ctx: Ctx,
  row: { id: string; kind: string; status: string; settings: Record<string, unknown> },
  input: ExotelChannelUpdate & Record<string, unknown>,
  view: (id: string) => Promise<V>,
) {
  const sql = ctx.sql;
  const kind = row.kind as ExotelKind;
  for (const field of ['imap', 'folders', 'threadToken']) {
    if (input[field] !== undefined) throw invalid(`body.${field}`, `is not a setting of a ${kind} channel`);
  }
  if (input.templates && kind !== 'whatsapp') throw invalid('body.templates', 'only WhatsApp channels have message templates');
  if ((input.dltEntityId || input.smsTemplates) && kind !== 'sms')
    throw invalid(input.dltEntityId ? 'body.dltEntityId' : 'body.smsTemplates', 'only SMS channels have DLT ids');
  if (input.record !== undefined && kind !== 'voice') throw invalid('body.record', 'only voice channels record calls');
  const changes: Record<string, unknown> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.address !== undefined) {
    const parsed = (kind === 'sms' ? smsSender : phone).safeParse(input.address);
    if (!parsed.success) throw invalid('body.address', parsed.error.issues[0]?.message ?? 'is not a phone number');
    changes.address = parsed.data;
  }
  if (input.status !== undefined && input.status !== row.status) {
    changes.status = input.status;
    if (input.status === 'active') changes.lastError = null;
  }
  const settings = structuredClone(row.settings) as unknown as ExotelSettings;
  if (input.templates) settings.templates = input.templates;
  if (input.dltEntityId) settings.dltEntityId = input.dltEntityId;
  if (input.smsTemplates) settings.smsTemplates = input.smsTemplates;
  if (input.record !== undefined) settings.record = input.record;
  if (input.exotel) {
    const { openSecret } = await import('../crypto/secrets.js');
    const [stored] = await sql<{ secretCiphertext: string | null; secretKeyId: string | null }[]>`
      select secret_ciphertext, secret_key_id from app.channels where id = ${row.id} and org_id = ${ctx.orgId}`;
    let old: Partial<ExotelCredentials> = {};
    try {
      if (stored?.secretCiphertext && stored.secretKeyId)
        old = openSecret<ExotelCredentials>({ ciphertext: stored.secretCiphertext, keyId: stored.secretKeyId }, ctx.orgId);
    } catch {
      old = {};
    }
    const next = { ...old, ...Object.fromEntries(Object.entries(input.exotel).filter(([, v]) => v !== undefined)) } as Partial<ExotelCredentials>;
    for (const f of ['apiKey', 'apiToken', 'accountSid'] as const) {
      if (!next[f]) throw invalid(`body.exotel.${f}`, 'is required: the stored credentials cannot be read');
    }
    next.subdomain ??= 'api.exotel.com';
    const sealed = sealSecret(next, ctx.orgId);
    changes.secretCiphertext = sealed.ciphertext;
    changes.secretKeyId = sealed.keyId;
    settings.subdomain = next.subdomain;
    settings.accountSid = next.accountSid!;
  }
  changes.settings = sql.json(settings as never);
  await sql`update app.channels set ${sql(changes as never)} where id = ${row.id} and org_id = ${ctx.orgId}`;
  const channel = await view(row.id);
  await recordChange(ctx, {
    event: channel.status === 'disabled' && row.status !== 'disabled' ? 'channel.disabled' : 'channel.updated',
    topics: [topics.org(ctx.orgId)],
    data: channel,
    audit: { entityType: 'channel', entityId: row.id, data: redacted(input) },
  });
  return channel;
}

/** POST /api/channels/{id}/rotate-webhook-secret: a new secret (shown once); the old one works for 24 hours more. */
export async function rotateWebhookSecret(ctx: Ctx, id: string) {
  const sql = ctx.sql;
  const [row] = await sql<{ id: string; kind: string; webhookSecretHash: string | null }[]>`
    select id, kind, webhook_secret_hash from app.channels where id = ${id} and org_id = ${ctx.orgId} for update`;
  if (!row) throw notFound('Channel');
  if (row.kind === 'email') throw invalid('path.id', 'email channels have no webhook secret');
  const hook = newWebhookSecret();
  const expiresAt = new Date(Date.now() + WEBHOOK_SECRET_GRACE_MS);
  await sql`
    update app.channels set webhook_secret_hash = ${hook.hash}, previous_webhook_secret_hash = ${row.webhookSecretHash},
      previous_webhook_secret_expires_at = ${row.webhookSecretHash ? expiresAt : null}
    where id = ${id} and org_id = ${ctx.orgId}`;
  await recordChange(ctx, {
    event: 'channel.updated',
    topics: [topics.org(ctx.orgId)],
    data: { id, webhookSecretRotatedAt: new Date().toISOString(), previousSecretExpiresAt: row.webhookSecretHash ? expiresAt.toISOString() : null },
    audit: { action: 'channel.webhook_secret_rotated', entityType: 'channel', entityId: id },
  });
  return {
    id,
    webhook: { ...webhookOnce(row.kind as ExotelKind, id, hook.secret), previousSecretExpiresAt: row.webhookSecretHash ? expiresAt : null },
  };
}
