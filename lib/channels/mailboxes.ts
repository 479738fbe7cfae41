// Channels, and email mailboxes in particular: the IMAP server, login (password or OAuth 2.0 refresh
// token, sealed with AES-256-GCM and never returned), the folders to poll and their sync state. Also
// what the poller needs: the channel with its opened secret, and an IMAP login with a fresh token.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { openSecret, sealSecret, SecretUnavailableError, type SealedSecret } from '../crypto/secrets.js';
import { ImapConnectError, listFolders, type ImapLogin, type ImapServer } from '../email/imap.js';
import { checkTokenUrl, DEFAULT_TOKEN_URLS, exchangeRefreshToken, OAUTH_PROVIDERS, OAuthError, type OAuthProvider } from '../email/oauth.js';
import { AppError, invalid, notFound } from '../errors.js';
import { decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { recordChange, topics } from '../realtime.js';
import { createExotelChannel, exotelChannelCreates, exotelChannelView, exotelUpdateFields, updateExotelChannel } from './exotel-channels.js';
import { HostRefusedError, resolvePublicHost } from './net-guard.js';
import { whenFieldsValid } from '../validation.js';
import { SENDER_NAME_MODES, senderNameMode, SIGNATURE_MODES, signatureMode, type SenderNameMode, type SignatureMode } from '../email/signature.js';

export const CHANNEL_KINDS = ['email', 'whatsapp', 'sms', 'voice'] as const;
export const CHANNEL_STATUSES = ['active', 'disabled', 'error'] as const;
export const THREAD_TOKEN_MODES = ['reply_to', 'subject', 'both', 'none'] as const;
export type ThreadTokenMode = (typeof THREAD_TOKEN_MODES)[number];

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV6ISH = /^\[?[0-9a-f:.]+\]?$/;

const host = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .refine((v) => HOSTNAME.test(v) || (v.includes(':') && IPV6ISH.test(v)), 'must be a host name or an IP address')
  .transform((v) => v.replace(/^\[(.*)\]$/, '$1'));
const emailAddress = z.string().trim().toLowerCase().pipe(z.email('must be an email address')).pipe(z.string().max(320));
const secretText = (max: number) => z.string().min(1).max(max);
const tokenUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);

/** IMAP folder names; INBOX is case-insensitive (RFC 3501) and written in capitals. */
const folderList = z
  .array(
    z
      .string()
      .trim()
      .min(1)
      .max(500)
      .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters')
      .transform((v) => (v.toUpperCase() === 'INBOX' ? 'INBOX' : v)),
  )
  .min(1)
  .max(50)
  .refine((v) => new Set(v).size === v.length, 'must not name a folder twice');

const passwordAuth = z.strictObject({ method: z.literal('password'), password: secretText(1000) });
const oauthAuth = z.strictObject({
  method: z.literal('oauth2'),
  provider: z.enum(OAUTH_PROVIDERS),
  clientId: z.string().trim().min(1).max(500),
  clientSecret: secretText(2000).optional(),
  refreshToken: secretText(8000),
  tokenUrl: tokenUrl.optional(),
  scope: z.string().trim().min(1).max(1000).optional(),
});

const imapCreate = z
  .strictObject({
    host,
    port: z.number().int().min(1).max(65535).optional(),
    tls: z.boolean().default(true),
    username: z.string().trim().min(1).max(320),
    auth: z.discriminatedUnion('method', [passwordAuth, oauthAuth]),
  })
  .superRefine((v, c) => {
    if (v.auth.method === 'oauth2' && v.auth.provider === 'custom' && !v.auth.tokenUrl) {
      c.addIssue({ code: 'custom', path: ['auth', 'tokenUrl'], message: 'is required for a custom provider' });
    }
  }, whenFieldsValid);

const name = z.string().trim().min(1).max(200);

export const channelCreate = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('email'),
    name,
    address: emailAddress,
    imap: imapCreate,
    folders: folderList.default(['INBOX']),
    threadToken: z.enum(THREAD_TOKEN_MODES).default('reply_to'),
    senderName: z.enum(SENDER_NAME_MODES).default('both'),
    signatures: z.enum(SIGNATURE_MODES).default('both'),
  }),
  // WhatsApp, SMS and voice through Exotel (lib/channels/exotel-channels.ts).
  ...exotelChannelCreates,
]);

/** A change: any field; a secret given replaces the stored one, a secret left out is kept. */
export const channelUpdate = z
  .strictObject({
    name: name.optional(),
    address: emailAddress.optional(),
    status: z.enum(['active', 'disabled']).optional(),
    imap: z
      .strictObject({
        host: host.optional(),
        port: z.number().int().min(1).max(65535).optional(),
        tls: z.boolean().optional(),
        username: z.string().trim().min(1).max(320).optional(),
        auth: z
          .discriminatedUnion('method', [
            passwordAuth.partial({ password: true }),
            oauthAuth
              .partial()
              .required({ method: true })
              .extend({ clientSecret: secretText(2000).nullable().optional() }),
          ])
          .optional(),
      })
      .optional(),
    folders: folderList.optional(),
    threadToken: z.enum(THREAD_TOKEN_MODES).optional(),
    senderName: z.enum(SENDER_NAME_MODES).optional(),
    signatures: z.enum(SIGNATURE_MODES).optional(),
    ...exotelUpdateFields,
  })
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export const channelListQuery = z.object({
  ...pageQuery,
  kind: z.enum(CHANNEL_KINDS).optional(),
  status: z.enum(CHANNEL_STATUSES).optional(),
});

// ---------------------------------------------------------------------------------------------
// Stored shapes
// ---------------------------------------------------------------------------------------------

type StoredAuth =
  { method: 'password' } | { method: 'oauth2'; provider: OAuthProvider; clientId: string; tokenUrl: string; scope: string | null; clientSecretSet: boolean };

/** app.channels.settings of an email channel (nothing secret). */
export interface EmailSettings {
  imap: { host: string; port: number; tls: boolean; username: string; auth: StoredAuth };
  threadToken: ThreadTokenMode;
  /** The From display name (lib/email/signature.ts); absent on mailboxes added before it: both. */
  senderName?: SenderNameMode;
  /** Which signatures are appended; absent: both. */
  signatures?: SignatureMode;
}

/** The sealed part: the password, or the OAuth client secret, refresh token and cached access token. */
export type MailboxSecret = { password: string } | { refreshToken: string; clientSecret?: string | null; accessToken?: string; accessTokenExpiresAt?: string };

interface ChannelRow {
  id: string;
  kind: (typeof CHANNEL_KINDS)[number];
  name: string;
  address: string;
  status: (typeof CHANNEL_STATUSES)[number];
  settings: Record<string, unknown>;
  hasSecret: boolean;
  sendingDomainStatus: string | null;
  lastError: string | null;
  lastSyncedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface FolderRow {
  channelId: string;
  path: string;
  enabled: boolean;
  uidValidity: string | null;
  lastUid: string;
  lastPolledAt: Date | null;
  lastError: string | null;
}

const channelColumns = (sql: Ctx['sql']) =>
  sql`c.id, c.kind, c.name, c.address, c.status, c.settings, (c.secret_ciphertext is not null) as has_secret,
      c.sending_domain_status, c.last_error, c.last_synced_at, c.created_at, c.updated_at`;

/** What the API shows: every setting, never a secret (only whether one is set). */
export function channelView(row: ChannelRow, folders: FolderRow[]) {
  const base = {
    id: row.id,
    kind: row.kind,
    name: row.name,
    address: row.address,
    status: row.status,
    lastError: row.lastError,
    lastSyncedAt: row.lastSyncedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  if (row.kind !== 'email') return exotelChannelView(base, row.settings);
  const s = row.settings as unknown as EmailSettings;
  const a = s.imap.auth;
  const auth =
    a.method === 'password'
      ? { method: a.method, passwordSet: row.hasSecret }
      : {
          method: a.method,
          provider: a.provider,
          clientId: a.clientId,
          tokenUrl: a.tokenUrl,
          scope: a.scope,
          clientSecretSet: a.clientSecretSet,
          oauthRefreshTokenSet: row.hasSecret,
        };
  const enabled = folders.filter((f) => f.channelId === row.id && f.enabled);
  return {
    ...base,
    imap: { host: s.imap.host, port: s.imap.port, tls: s.imap.tls, username: s.imap.username, auth },
    threadToken: s.threadToken,
    senderName: senderNameMode(s),
    signatures: signatureMode(s),
    // Whether the email provider has verified the sending address's domain (POST /api/channels/{id}/verify-domain).
    sendingDomainStatus: row.sendingDomainStatus ?? 'not_started',
    folders: enabled.map((f) => f.path),
    folderStatus: enabled.map((f) => ({ path: f.path, lastUid: Number(f.lastUid), lastPolledAt: f.lastPolledAt, lastError: f.lastError })),
  };
}

export type ChannelView = ReturnType<typeof channelView>;

async function foldersOf(ctx: Ctx, channelIds: string[]): Promise<FolderRow[]> {
  if (channelIds.length === 0) return [];
  return ctx.sql<FolderRow[]>`
    select channel_id, path, enabled, uid_validity, last_uid, last_polled_at, last_error from app.mailbox_folders
    where org_id = ${ctx.orgId} and channel_id = any(${channelIds}::uuid[]) order by channel_id, created_at, path`;
}

async function channelRow(ctx: Ctx, id: string, lock = false): Promise<ChannelRow> {
  const sql = ctx.sql;
  const [row] = await sql<ChannelRow[]>`
    select ${channelColumns(sql)} from app.channels c where c.id = ${id} and c.org_id = ${ctx.orgId}
    ${lock ? sql`for update` : sql``}`;
  if (!row) throw notFound('Channel');
  return row;
}

async function viewOf(ctx: Ctx, id: string): Promise<ChannelView> {
  const row = await channelRow(ctx, id);
  return channelView(row, await foldersOf(ctx, [id]));
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** Runs a host check, turning a refused host into a 422 naming the field. */
async function refusedAs(path: string, check: Promise<unknown>): Promise<void> {
  try {
    await check;
  } catch (error) {
    if (error instanceof HostRefusedError) throw invalid(path, error.message);
    throw error;
  }
}

/** The host must resolve, and only to public addresses. */
const checkHost = (value: string, path: string) => refusedAs(path, resolvePublicHost(value));
/** The token endpoint must be https and public. */
const checkOAuthTokenUrl = (url: string, path: string) => refusedAs(path, checkTokenUrl(url));

function redactedAudit(input: Record<string, unknown>): Record<string, unknown> {
  const imap = input.imap as { auth?: Record<string, unknown> } | undefined;
  if (!imap?.auth) return input;
  const { password, refreshToken, clientSecret, ...auth } = imap.auth;
  return {
    ...input,
    imap: {
      ...imap,
      auth: {
        ...auth,
        ...(password ? { password: 'replaced' } : {}),
        ...(refreshToken ? { refreshToken: 'replaced' } : {}),
        ...(clientSecret !== undefined ? { clientSecret: clientSecret ? 'replaced' : 'removed' } : {}),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

const cursorShape = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

export async function listChannels(ctx: Ctx, q: z.infer<typeof channelListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, cursorShape);
  const rows = await sql<(ChannelRow & { sortAt: string })[]>`
    select ${channelColumns(sql)}, ${exactInstant(sql, 'c.created_at', 'sort_at')} from app.channels c
    where c.org_id = ${ctx.orgId}
      ${q.kind ? sql`and c.kind = ${q.kind}` : sql``}
      ${q.status ? sql`and c.status = ${q.status}` : sql``}
      ${after ? sql`and (c.created_at, c.id) > (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by c.created_at, c.id
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  const folders = await foldersOf(
    ctx,
    page.data.filter((r) => r.kind === 'email').map((r) => r.id),
  );
  return { ...page, data: page.data.map((r) => channelView(r, folders)) };
}

export async function getChannel(ctx: Ctx, id: string) {
  return viewOf(ctx, id);
}

async function syncFolders(ctx: Ctx, channelId: string, folders: string[]): Promise<void> {
  const sql = ctx.sql;
  for (const path of folders) {
    await sql`
      insert into app.mailbox_folders (org_id, channel_id, path) values (${ctx.orgId}, ${channelId}, ${path})
      on conflict (channel_id, path) do update set enabled = true, updated_at = now()`;
  }
  // Removed folders stop being polled but keep their position, should they be added back.
  await sql`
    update app.mailbox_folders set enabled = false
    where org_id = ${ctx.orgId} and channel_id = ${channelId} and enabled and not (path = any(${folders}::text[]))`;
}

export async function createChannel(ctx: Ctx, input: z.infer<typeof channelCreate>) {
  if (input.kind !== 'email') return createExotelChannel(ctx, input, (id) => viewOf(ctx, id));
  const sql = ctx.sql;
  const { imap } = input;
  await checkHost(imap.host, 'body.imap.host');
  let auth: StoredAuth;
  let secret: MailboxSecret;
  if (imap.auth.method === 'password') {
    auth = { method: 'password' };
    secret = { password: imap.auth.password };
  } else {
    const a = imap.auth;
    const url = a.tokenUrl ?? DEFAULT_TOKEN_URLS[a.provider as Exclude<OAuthProvider, 'custom'>];
    if (a.tokenUrl) await checkOAuthTokenUrl(a.tokenUrl, 'body.imap.auth.tokenUrl');
    auth = { method: 'oauth2', provider: a.provider, clientId: a.clientId, tokenUrl: url, scope: a.scope ?? null, clientSecretSet: Boolean(a.clientSecret) };
    secret = { refreshToken: a.refreshToken, clientSecret: a.clientSecret ?? null };
  }
  const settings: EmailSettings = {
    imap: { host: imap.host, port: imap.port ?? (imap.tls ? 993 : 143), tls: imap.tls, username: imap.username, auth },
    threadToken: input.threadToken,
    senderName: input.senderName,
    signatures: input.signatures,
  };
  const sealed = sealSecret(secret, ctx.orgId);
  const [row] = await sql<{ id: string }[]>`
    insert into app.channels (org_id, kind, name, address, settings, secret_ciphertext, secret_key_id)
    values (${ctx.orgId}, 'email', ${input.name}, ${input.address}, ${sql.json(settings as never)}, ${sealed.ciphertext}, ${sealed.keyId})
    returning id`;
  const id = row!.id;
  await syncFolders(ctx, id, input.folders);
  const channel = await viewOf(ctx, id);
  await recordChange(ctx, {
    event: 'channel.created',
    topics: [topics.org(ctx.orgId)],
    data: channel,
    audit: { entityType: 'channel', entityId: id, data: redactedAudit(input) },
  });
  return channel;
}

export async function updateChannel(ctx: Ctx, id: string, input: z.infer<typeof channelUpdate>) {
  const sql = ctx.sql;
  const row = await channelRow(ctx, id, true);
  if (row.kind !== 'email' && (input.imap || input.folders || input.threadToken || input.address || input.senderName || input.signatures)) {
    throw invalid('body', `only the name and status of a ${row.kind} channel can be changed here`);
  }
  if (row.kind !== 'email') return updateExotelChannel(ctx, row, input, (cid) => viewOf(ctx, cid));
  for (const field of Object.keys(exotelUpdateFields)) {
    if ((input as Record<string, unknown>)[field] !== undefined) throw invalid(`body.${field}`, 'is not a setting of an email channel');
  }
  const changes: Record<string, unknown> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.address !== undefined) changes.address = input.address;
  if (input.status !== undefined && input.status !== row.status) {
    changes.status = input.status;
    if (input.status === 'active') changes.lastError = null;
  }
  let resetFolders = false;
  if (row.kind === 'email' && (input.imap || input.threadToken || input.senderName || input.signatures)) {
    const current = row.settings as unknown as EmailSettings;
    const next: EmailSettings = structuredClone(current);
    if (input.threadToken) next.threadToken = input.threadToken;
    if (input.senderName) next.senderName = input.senderName;
    if (input.signatures) next.signatures = input.signatures;
    const i = input.imap;
    if (i) {
      if (i.host !== undefined && i.host !== current.imap.host) await checkHost(i.host, 'body.imap.host');
      if (i.host !== undefined) next.imap.host = i.host;
      if (i.tls !== undefined) next.imap.tls = i.tls;
      if (i.port !== undefined) next.imap.port = i.port;
      else if (i.tls !== undefined && i.tls !== current.imap.tls && current.imap.port === (current.imap.tls ? 993 : 143)) {
        next.imap.port = i.tls ? 993 : 143;
      }
      if (i.username !== undefined) next.imap.username = i.username;
      // UIDs number one server's mailbox: another server or account starts the folders afresh.
      resetFolders = next.imap.host !== current.imap.host || next.imap.username.toLowerCase() !== current.imap.username.toLowerCase();
      if (i.auth) {
        const secret = await replacedSecret(ctx, id, current.imap.auth, i.auth);
        next.imap.auth = secret.auth;
        if (secret.sealed) {
          changes.secretCiphertext = secret.sealed.ciphertext;
          changes.secretKeyId = secret.sealed.keyId;
        }
      }
    }
    changes.settings = sql.json(next as never);
    if (row.status === 'error' && input.status === undefined) {
      // New settings deserve a fresh try: the next poll says whether they work.
      changes.status = 'active';
      changes.lastError = null;
    }
  }
  if (Object.keys(changes).length > 0) {
    await sql`update app.channels set ${sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  }
  if (input.folders) await syncFolders(ctx, id, input.folders);
  if (resetFolders) {
    await sql`
      update app.mailbox_folders set uid_validity = null, last_uid = 0, failing_uid = null, failing_count = 0, last_error = null
      where org_id = ${ctx.orgId} and channel_id = ${id}`;
  }
  const channel = await viewOf(ctx, id);
  await recordChange(ctx, {
    event: channel.status === 'disabled' && row.status !== 'disabled' ? 'channel.disabled' : 'channel.updated',
    topics: [topics.org(ctx.orgId)],
    data: channel,
    audit: { entityType: 'channel', entityId: id, data: redactedAudit(input) },
  });
  return channel;
}

type AuthPatch = NonNullable<NonNullable<z.infer<typeof channelUpdate>['imap']>['auth']>;

/** Merges an auth change into the stored settings and secret; a new secret is sealed again. */
async function replacedSecret(ctx: Ctx, id: string, current: StoredAuth, patch: AuthPatch): Promise<{ auth: StoredAuth; sealed?: SealedSecret }> {
  if (patch.method === 'password') {
    if (!patch.password) {
      if (current.method === 'password') return { auth: current };
      throw invalid('body.imap.auth.password', 'is required when switching to password login');
    }
    return { auth: { method: 'password' }, sealed: sealSecret({ password: patch.password } satisfies MailboxSecret, ctx.orgId) };
  }
  const was = current.method === 'oauth2' ? current : undefined;
  const provider = patch.provider ?? was?.provider;
  const clientId = patch.clientId ?? was?.clientId;
  if (!provider) throw invalid('body.imap.auth.provider', 'is required when switching to OAuth 2.0');
  if (!clientId) throw invalid('body.imap.auth.clientId', 'is required when switching to OAuth 2.0');
  if (!was && !patch.refreshToken) throw invalid('body.imap.auth.refreshToken', 'is required when switching to OAuth 2.0');
  let tokenUrlValue: string;
  if (patch.tokenUrl) {
    await checkOAuthTokenUrl(patch.tokenUrl, 'body.imap.auth.tokenUrl');
    tokenUrlValue = patch.tokenUrl;
  } else if (was && was.provider === provider) {
    tokenUrlValue = was.tokenUrl;
  } else if (provider !== 'custom') {
    tokenUrlValue = DEFAULT_TOKEN_URLS[provider];
  } else {
    throw invalid('body.imap.auth.tokenUrl', 'is required for a custom provider');
  }
  const scope = patch.scope !== undefined ? patch.scope : (was?.scope ?? null);
  let secret: Extract<MailboxSecret, { refreshToken: string }> | undefined;
  if (patch.refreshToken !== undefined || patch.clientSecret !== undefined) {
    const old = was ? ((await storedSecret(ctx, id)) as Extract<MailboxSecret, { refreshToken: string }> | null) : null;
    secret = {
      refreshToken: patch.refreshToken ?? old?.refreshToken ?? '',
      clientSecret: patch.clientSecret !== undefined ? patch.clientSecret : (old?.clientSecret ?? null),
    };
    if (!secret.refreshToken) throw invalid('body.imap.auth.refreshToken', 'is required: the stored one cannot be read');
  } else if (was && (clientId !== was.clientId || tokenUrlValue !== was.tokenUrl || scope !== was.scope)) {
    // Another client or endpoint: a cached access token belongs to the old one.
    const old = (await storedSecret(ctx, id)) as Extract<MailboxSecret, { refreshToken: string }> | null;
    if (old) secret = { refreshToken: old.refreshToken, clientSecret: old.clientSecret ?? null };
  }
  const clientSecretSet = secret ? Boolean(secret.clientSecret) : (was?.clientSecretSet ?? false);
  return {
    auth: { method: 'oauth2', provider, clientId, tokenUrl: tokenUrlValue, scope, clientSecretSet },
    ...(secret ? { sealed: sealSecret(secret, ctx.orgId) } : {}),
  };
}

async function storedSecret(ctx: Ctx, id: string): Promise<MailboxSecret | null> {
  const [row] = await ctx.sql<{ secretCiphertext: string | null; secretKeyId: string | null }[]>`
    select secret_ciphertext, secret_key_id from app.channels where id = ${id} and org_id = ${ctx.orgId}`;
  if (!row?.secretCiphertext || !row.secretKeyId) return null;
  try {
    return openSecret<MailboxSecret>({ ciphertext: row.secretCiphertext, keyId: row.secretKeyId }, ctx.orgId);
  } catch (error) {
    if (error instanceof SecretUnavailableError) return null;
    throw error;
  }
}

/** DELETE: the channel stops (no polling, no sending); its messages, threads and settings stay. */
export async function disableChannel(ctx: Ctx, id: string) {
  const row = await channelRow(ctx, id, true);
  if (row.status === 'disabled') return viewOf(ctx, id);
  await ctx.sql`update app.channels set status = 'disabled' where id = ${id} and org_id = ${ctx.orgId}`;
  const channel = await viewOf(ctx, id);
  await recordChange(ctx, {
    event: 'channel.disabled',
    topics: [topics.org(ctx.orgId)],
    data: channel,
    audit: { entityType: 'channel', entityId: id },
  });
  return channel;
}

// ---------------------------------------------------------------------------------------------
// Connecting (the test endpoint and the poller)
// ---------------------------------------------------------------------------------------------

/** An email channel as the poller sees it: settings and the opened secret. */
export interface MailboxChannel {
  id: string;
  orgId: string;
  address: string;
  status: ChannelRow['status'];
  settings: EmailSettings;
  sealed: SealedSecret | null;
}

/** The email channel with its sealed secret, or null when there is no such email channel. */
export async function loadMailboxChannel(ctx: Ctx, id: string): Promise<MailboxChannel | null> {
  const [row] = await ctx.sql<
    {
      id: string;
      kind: string;
      address: string;
      status: ChannelRow['status'];
      settings: EmailSettings;
      secretCiphertext: string | null;
      secretKeyId: string | null;
    }[]
  >`
    select id, kind, address, status, settings, secret_ciphertext, secret_key_id
    from app.channels where id = ${id} and org_id = ${ctx.orgId}`;
  if (!row || row.kind !== 'email') return null;
  return {
    id: row.id,
    orgId: ctx.orgId,
    address: row.address,
    status: row.status,
    settings: row.settings,
    sealed: row.secretCiphertext && row.secretKeyId ? { ciphertext: row.secretCiphertext, keyId: row.secretKeyId } : null,
  };
}

export function imapServer(channel: MailboxChannel): ImapServer {
  const { host: h, port, tls, username } = channel.settings.imap;
  return { host: h, port, tls, username };
}

/** Access tokens survive between polls in a warm function instance too, not only in the sealed secret. */
const tokenCache = new Map<string, { accessToken: string; expiresAt: number; refreshToken: string }>();
const TOKEN_MARGIN_MS = 60_000;

/** Writes a re-sealed secret unless a member replaced it meanwhile (compare-and-set on the ciphertext). */
export type SaveSecret = (next: SealedSecret, previous: SealedSecret) => Promise<void>;

export function saveSecretWith(ctx: Ctx, channelId: string): SaveSecret {
  return async (next, previous) => {
    await ctx.sql`
      update app.channels set secret_ciphertext = ${next.ciphertext}, secret_key_id = ${next.keyId}
      where id = ${channelId} and org_id = ${ctx.orgId} and secret_ciphertext = ${previous.ciphertext}`;
  };
}

/**
 * The IMAP login for a channel: its password, or an access token (cached until a minute before
 * expiry, else exchanged for the refresh token and stored back sealed, with a rotated refresh token).
 * Throws OAuthError or SecretUnavailableError.
 */
export async function imapLogin(channel: MailboxChannel, save: SaveSecret, options: { forceRefresh?: boolean } = {}): Promise<ImapLogin> {
  if (!channel.sealed) throw new SecretUnavailableError('No login is stored for this mailbox');
  const secret = openSecret<MailboxSecret>(channel.sealed, channel.orgId);
  const auth = channel.settings.imap.auth;
  if (auth.method === 'password') {
    if (!('password' in secret)) throw new SecretUnavailableError('The stored login is not a password');
    return { method: 'password', password: secret.password };
  }
  if (!('refreshToken' in secret)) throw new SecretUnavailableError('The stored login is not an OAuth refresh token');
  const now = Date.now();
  if (!options.forceRefresh) {
    const cached = tokenCache.get(channel.id);
    if (cached && cached.refreshToken === secret.refreshToken && cached.expiresAt - TOKEN_MARGIN_MS > now) {
      return { method: 'oauth2', accessToken: cached.accessToken };
    }
    const expires = secret.accessTokenExpiresAt ? Date.parse(secret.accessTokenExpiresAt) : 0;
    if (secret.accessToken && expires - TOKEN_MARGIN_MS > now) {
      tokenCache.set(channel.id, { accessToken: secret.accessToken, expiresAt: expires, refreshToken: secret.refreshToken });
      return { method: 'oauth2', accessToken: secret.accessToken };
    }
  }
  const token = await exchangeRefreshToken(
    { tokenUrl: auth.tokenUrl, clientId: auth.clientId, clientSecret: secret.clientSecret, scope: auth.scope },
    secret.refreshToken,
  );
  const refreshToken = token.refreshToken ?? secret.refreshToken;
  const next: MailboxSecret = {
    refreshToken,
    clientSecret: secret.clientSecret ?? null,
    accessToken: token.accessToken,
    accessTokenExpiresAt: token.expiresAt.toISOString(),
  };
  const sealed = sealSecret(next, channel.orgId);
  await save(sealed, channel.sealed);
  channel.sealed = sealed;
  tokenCache.set(channel.id, { accessToken: token.accessToken, expiresAt: token.expiresAt.getTime(), refreshToken });
  return { method: 'oauth2', accessToken: token.accessToken };
}

/** Forgets a cached access token (after the server refused it). */
export function forgetAccessToken(channelId: string): void {
  tokenCache.delete(channelId);
}

export type ConnectFailure = 'auth' | 'connection' | 'tls' | 'refused' | 'secret';

/** Sorts a failure to log in into what a person can act on, with a message for them. */
export function connectFailure(error: unknown): { reason: ConnectFailure; error: string } | null {
  if (error instanceof ImapConnectError) return { reason: error.kind, error: error.message };
  if (error instanceof OAuthError) return { reason: error.kind === 'grant' ? 'auth' : 'connection', error: error.message };
  if (error instanceof SecretUnavailableError) return { reason: 'secret', error: `${error.message}; enter the login again` };
  return null;
}

/**
 * POST /api/channels/{id}/test: connects, logs in and lists the folders. Answers what went wrong
 * rather than failing: `{ ok: false, reason: 'auth' | 'connection' | 'tls' | 'refused' | 'secret', error }`.
 */
export async function testChannel(ctx: Ctx, id: string) {
  await channelRow(ctx, id);
  const channel = await loadMailboxChannel(ctx, id);
  if (!channel)
    throw new AppError('validation_failed', 'Only email channels can be tested', { issues: [{ path: 'path.id', message: 'is not an email channel' }] });
  const server = imapServer(channel);
  const save = saveSecretWith(ctx, id);
  const attempt = async (forceRefresh: boolean) => listFolders(server, await imapLogin(channel, save, { forceRefresh }));
  try {
    let folders: string[];
    try {
      folders = await attempt(false);
    } catch (error) {
      // A cached access token the provider revoked early: one more try with a fresh one.
      if (!(error instanceof ImapConnectError && error.kind === 'auth' && channel.settings.imap.auth.method === 'oauth2')) throw error;
      forgetAccessToken(id);
      folders = await attempt(true);
    }
    const configured = (await foldersOf(ctx, [id])).filter((f) => f.enabled).map((f) => f.path);
    return { ok: true as const, folders, missingFolders: configured.filter((f) => !folders.includes(f)) };
  } catch (error) {
    const failure = connectFailure(error);
    if (!failure) throw error;
    return { ok: false as const, ...failure };
  }
}
