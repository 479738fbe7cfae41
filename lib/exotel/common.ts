// What the Exotel pieces share: phone numbers in E.164, the per-channel webhook secret (random, shown
// once, only its SHA-256 stored; the previous one keeps working for a grace period), the callback URL
// we pass to Exotel with each send (its token derived from the current secret's hash with the server
// key, so nothing more is stored), and a channel with its opened credentials.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { config, publicUrl } from '../config.js';
import type { Ctx } from '../context.js';
import { openSecret, SecretUnavailableError } from '../crypto/secrets.js';
import { toE164 } from '../phone.js';
import type { ExotelCredentials } from './adapter.js';

export const EXOTEL_KINDS = ['whatsapp', 'sms', 'voice'] as const;
export type ExotelKind = (typeof EXOTEL_KINDS)[number];

/** How long a rotated-out webhook secret is still accepted. */
export const WEBHOOK_SECRET_GRACE_MS = 24 * 3_600_000;

/**
 * A number as Exotel sends it ("919876543210", "+91 98765 43210", "09876543210", "9876543210") in
 * E.164, India by default; null when it is not a phone number.
 */
export function normalizePhone(input: string | null | undefined): string | null {
  if (!input) return null;
  const s = String(input)
    .trim()
    .replace(/^"+|"+$/g, '')
    .replace(/^whatsapp:/i, '');
  const digits = s.replace(/[\s().-]/g, '');
  if (/^\d{11,15}$/.test(digits) && !digits.startsWith('0')) {
    const international = toE164(`+${digits}`);
    if (international) return international;
  }
  return toE164(digits);
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newWebhookSecret(): { secret: string; hash: string } {
  const secret = `exw_${randomBytes(24).toString('base64url')}`;
  return { secret, hash: hashSecret(secret) };
}

/** The token of the status callbacks we pass with each send: bound to the channel and its current secret. */
export function callbackToken(channelId: string, secretHash: string): string {
  return `cb_${createHmac('sha256', config().encryption.key).update(`exotel-callback:${channelId}:${secretHash}`).digest('base64url')}`;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface SecretHashes {
  webhookSecretHash: string | null;
  previousWebhookSecretHash: string | null;
  previousWebhookSecretExpiresAt: Date | null;
}

/** True when the token is the channel's secret (or the callback token derived from it), current or in grace. */
export function tokenMatches(channelId: string, token: string | null, row: SecretHashes, now = Date.now()): boolean {
  if (!token || token.length > 200) return false;
  const hashes = [row.webhookSecretHash];
  if (row.previousWebhookSecretHash && row.previousWebhookSecretExpiresAt && row.previousWebhookSecretExpiresAt.getTime() > now) {
    hashes.push(row.previousWebhookSecretHash);
  }
  const given = hashSecret(token);
  let ok = false;
  // Every comparison runs (no early exit), each in constant time.
  for (const h of hashes) {
    if (!h) continue;
    if (sameText(given, h)) ok = true;
    if (sameText(token, callbackToken(channelId, h))) ok = true;
  }
  return ok;
}

export function callbackPath(channelId: string): string {
  return `/api/webhooks/exotel/${channelId}`;
}

/** The URL to paste into Exotel (with the secret) or to pass with a send (with the derived token). */
export function callbackUrl(channelId: string, token: string): string {
  return `${publicUrl(callbackPath(channelId))}?token=${encodeURIComponent(token)}`;
}

export interface ExotelChannel {
  id: string;
  orgId: string;
  kind: ExotelKind;
  name: string;
  address: string;
  status: 'active' | 'disabled' | 'error';
  settings: ExotelSettings;
  webhookSecretHash: string | null;
  secretCiphertext: string | null;
  secretKeyId: string | null;
}

export interface WhatsAppTemplate {
  name: string;
  language: string;
  parameterCount: number;
}

export interface SmsTemplate {
  /** The DLT template id registered with the operator. */
  id: string;
  name: string;
  /**
   * The template's text as registered on the DLT portal, placeholders included (`{#var#}`, ...: see
   * lib/exotel/dlt.ts). Channels added before it was asked for lack it: their templates match no text
   * until an admin enters it.
   */
  body?: string;
  /** How many placeholders the body has. */
  parameterCount: number;
}

/** app.channels.settings of a WhatsApp, SMS or voice channel (nothing secret). */
export interface ExotelSettings {
  subdomain: ExotelCredentials['subdomain'];
  accountSid: string;
  /** WhatsApp: approved templates for replies outside the 24-hour window. */
  templates?: WhatsAppTemplate[];
  /** SMS: DLT principal entity id and the registered templates (a text goes with the first it matches). */
  dltEntityId?: string;
  smsTemplates?: SmsTemplate[];
  /** Voice: record calls. */
  record?: boolean;
}

export async function loadExotelChannel(ctx: Ctx, channelId: string | null): Promise<ExotelChannel | undefined> {
  if (!channelId) return undefined;
  const [row] = await ctx.sql<Omit<ExotelChannel, 'orgId'>[]>`
    select id, kind, name, address, status, settings, webhook_secret_hash, secret_ciphertext, secret_key_id
    from app.channels where id = ${channelId} and org_id = ${ctx.orgId} and kind in ('whatsapp', 'sms', 'voice')`;
  return row ? { ...row, orgId: ctx.orgId } : undefined;
}

export function credentialsOf(channel: ExotelChannel): ExotelCredentials {
  if (!channel.secretCiphertext || !channel.secretKeyId) throw new SecretUnavailableError('No Exotel credentials are stored for this channel');
  return openSecret<ExotelCredentials>({ ciphertext: channel.secretCiphertext, keyId: channel.secretKeyId }, channel.orgId);
}

/** The status callback passed with a send on this channel. */
export function statusCallbackFor(channel: Pick<ExotelChannel, 'id' | 'webhookSecretHash'>): string {
  return callbackUrl(channel.id, callbackToken(channel.id, channel.webhookSecretHash ?? ''));
}
