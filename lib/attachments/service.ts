// Attachments: files members upload straight to storage with a signed URL (never through a function
// body), confirmed by the API (size, type and SHA-256 checked), read back through short-lived signed
// download URLs; and the server-side helpers inbound email uses for attachments and raw sources.
//
// Type policy: a deny-list of executables and scripts, by media type and by file extension (so
// "invoice.pdf.exe" sent as application/octet-stream is refused too). Everything else is accepted,
// including text/html and image/svg+xml, because every download is served as an attachment
// (Content-Disposition: attachment, nosniff, and a sandbox CSP locally): browsers save it, never render
// it. Members get 422 for a blocked file; inbound email keeps it as `quarantined`, with no download URL.
import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { extensionForContentType, sanitizeFilename } from '../email/attachments.js';
import { AppError, conflict, invalid, notFound } from '../errors.js';
import { fileInboundDocument } from '../documents/inbound.js';
import { recordChange, topics } from '../realtime.js';
import { mediaType, storage } from '../storage/index.js';
import { whenFieldsValid } from '../validation.js';

/** How long a signed upload URL is valid (local; Supabase fixes its own, two hours by default). */
export const UPLOAD_URL_SECONDS = 15 * 60;
/** How long a signed download URL is valid. */
export const DOWNLOAD_URL_SECONDS = 5 * 60;

const BLOCKED_TYPES = new Set([
  'application/x-msdownload',
  'application/x-msdos-program',
  'application/x-ms-dos-executable',
  'application/x-dosexec',
  'application/x-executable',
  'application/x-elf',
  'application/x-mach-binary',
  'application/vnd.microsoft.portable-executable',
  'application/x-ms-installer',
  'application/x-msi',
  'application/x-ms-application',
  'application/x-ms-shortcut',
  'application/x-sh',
  'application/x-csh',
  'application/x-shellscript',
  'text/x-shellscript',
  'text/x-sh',
  'application/x-bat',
  'application/bat',
  'application/x-msbatch',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'text/javascript',
  'text/ecmascript',
  'text/jscript',
  'text/vbscript',
  'application/x-vbscript',
  'application/hta',
  'application/x-powershell',
  'application/java-archive',
  'application/x-java-archive',
  'application/x-java-jnlp-file',
  'application/vnd.android.package-archive',
  'application/x-apple-diskimage',
  'application/vnd.apple.installer+xml',
  'application/x-iso9660-image',
]);

const BLOCKED_EXTENSIONS = new Set([
  'exe',
  'dll',
  'com',
  'scr',
  'pif',
  'cpl',
  'msi',
  'msp',
  'mst',
  'msc',
  'bat',
  'cmd',
  'ps1',
  'psm1',
  'psd1',
  'vbs',
  'vbe',
  'js',
  'jse',
  'mjs',
  'wsf',
  'wsh',
  'wsc',
  'hta',
  'lnk',
  'url',
  'scf',
  'reg',
  'inf',
  'chm',
  'jar',
  'jnlp',
  'sh',
  'bash',
  'csh',
  'ksh',
  'zsh',
  'command',
  'app',
  'apk',
  'dmg',
  'pkg',
  'iso',
  'img',
  'vhd',
  'vhdx',
  'gadget',
  'appx',
  'msix',
  'appref-ms',
  'library-ms',
  'settingcontent-ms',
]);

/** Why a file may not be stored as a normal attachment, or null when it may. */
export function blockedReason(filename: string, contentType: string): string | null {
  if (BLOCKED_TYPES.has(contentType)) return `${contentType} files (executables and scripts) are not accepted`;
  const ext = /\.([A-Za-z0-9-]{1,20})$/.exec(filename)?.[1]?.toLowerCase();
  if (ext && BLOCKED_EXTENSIONS.has(ext)) return `.${ext} files (executables and scripts) are not accepted`;
  return null;
}

/** The last segment of a storage path: ASCII letters, digits, `_`, `-`, one extension; never empty. */
export function storageSegment(filename: string): string {
  const ascii = (s: string) => s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const dot = filename.lastIndexOf('.');
  const rawExt = dot > 0 ? filename.slice(dot + 1) : '';
  const ext = ascii(rawExt)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 10);
  const base =
    ascii(dot > 0 && ext ? filename.slice(0, dot) : filename)
      .replace(/[^A-Za-z0-9_-]+/g, '_')
      .replace(/_+/g, '_')
      .replace(/^[_-]+|[_-]+$/g, '')
      .slice(0, 120) || 'file';
  return ext ? `${base}.${ext}` : base;
}

const displayName = z
  .string()
  .max(1000)
  .transform((v, c) => {
    const name = sanitizeFilename(v);
    if (!name) {
      c.addIssue({ code: 'custom', message: 'has no usable characters' });
      return z.NEVER;
    }
    return name;
  });

const contentTypeField = z
  .string()
  .max(255)
  .transform((v, c) => {
    const type = mediaType(v);
    if (!type) {
      c.addIssue({ code: 'custom', message: 'must be a media type such as application/pdf' });
      return z.NEVER;
    }
    return type;
  });

export const uploadCreate = z
  .strictObject({
    filename: displayName,
    contentType: contentTypeField,
    sizeBytes: z.number().int().min(0),
    threadId: z.uuid().optional(),
  })
  .superRefine((v, c) => {
    const max = config().storage.maxAttachmentBytes;
    if (v.sizeBytes > max) c.addIssue({ code: 'custom', path: ['sizeBytes'], message: `must be at most ${max} bytes (${formatBytes(max)})` });
    if (BLOCKED_TYPES.has(v.contentType)) c.addIssue({ code: 'custom', path: ['contentType'], message: blockedReason('', v.contentType)! });
    else {
      const reason = blockedReason(v.filename, v.contentType);
      if (reason) c.addIssue({ code: 'custom', path: ['filename'], message: reason });
    }
  }, whenFieldsValid);

function formatBytes(n: number): string {
  return n >= 1_048_576 ? `${Math.round((n / 1_048_576) * 10) / 10} MiB` : `${Math.round(n / 1024)} KiB`;
}

export interface Attachment {
  id: string;
  threadId: string | null;
  messageId: string | null;
  filename: string;
  contentType: string;
  sizeBytes: number | null;
  sha256: string | null;
  status: 'pending' | 'ready' | 'quarantined';
  contentId: string | null;
  isInline: boolean;
  uploadedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface AttachmentRow extends Attachment {
  storagePath: string;
}

const columns = (sql: Ctx['sql']) => sql`
  id, thread_id, message_id, filename, content_type, size_bytes::float8 as size_bytes, sha256, status, content_id,
  is_inline, uploaded_by, created_at, updated_at, storage_path`;

/** The attachment as the API shows it (the storage path stays internal). */
function view(row: AttachmentRow): Attachment {
  const { storagePath: _path, ...rest } = row;
  return rest;
}

async function loadRow(ctx: Ctx, id: string, lock = false): Promise<AttachmentRow> {
  const sql = ctx.sql;
  const [row] = await sql<AttachmentRow[]>`
    select ${columns(sql)} from app.attachments where id = ${id} and org_id = ${ctx.orgId} ${lock ? sql`for update` : sql``}`;
  if (!row) throw notFound('Attachment');
  return row;
}

function topicsFor(ctx: Ctx, a: Attachment): string[] {
  return a.threadId ? [topics.org(ctx.orgId), topics.thread(ctx.orgId, a.threadId)] : [topics.org(ctx.orgId)];
}

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Starts an upload: a `pending` row and a signed URL the client PUTs the file to. */
export async function createUpload(ctx: Ctx, input: z.infer<typeof uploadCreate>) {
  const sql = ctx.sql;
  if (input.threadId) {
    const [thread] = await sql`select 1 from app.threads where id = ${input.threadId} and org_id = ${ctx.orgId}`;
    if (!thread) throw invalid('body.threadId', 'is not a thread of this organization');
  }
  const id = randomUUID();
  const storagePath = `org/${ctx.orgId}/attachments/${id}/${storageSegment(input.filename)}`;
  const upload = await storage().createSignedUploadUrl(storagePath, {
    contentType: input.contentType,
    maxBytes: input.sizeBytes,
    expiresIn: UPLOAD_URL_SECONDS,
  });
  const [row] = await sql<AttachmentRow[]>`
    insert into app.attachments ${sql({
      id,
      orgId: ctx.orgId,
      threadId: input.threadId ?? null,
      filename: input.filename,
      contentType: input.contentType,
      sizeBytes: input.sizeBytes,
      storagePath,
      status: 'pending',
      uploadedBy: ctx.userId,
    } as never)}
    returning ${columns(sql)}`;
  const attachment = view(row!);
  await recordChange(ctx, {
    event: 'attachment.created',
    topics: topicsFor(ctx, attachment),
    data: attachment,
    audit: { entityType: 'attachment', entityId: id, data: input },
  });
  return { attachment, upload: { ...upload, expiresAt: upload.expiresAt.toISOString() } };
}

/**
 * Confirms an upload: the object must exist, be no larger than declared (and the limit) and have the
 * declared type; its SHA-256 is recorded and the attachment becomes `ready`. Confirming twice is a no-op.
 */
export async function confirmUpload(ctx: Ctx, id: string): Promise<Attachment> {
  const sql = ctx.sql;
  const row = await loadRow(ctx, id, true);
  if (row.status === 'ready') return view(row);
  if (row.status !== 'pending') throw conflict(`This attachment is ${row.status}`);
  const store = storage();
  const info = await store.statObject(row.storagePath);
  if (!info) throw conflict('Nothing has been uploaded for this attachment yet: PUT the file to its upload URL first');
  const limit = Math.min(row.sizeBytes ?? 0, config().storage.maxAttachmentBytes);
  if (info.size > limit) {
    await store.deleteObject(row.storagePath);
    throw new AppError('payload_too_large', `The uploaded file has ${info.size} bytes, more than the ${limit} declared; upload it again`);
  }
  if (info.contentType && info.contentType !== row.contentType) {
    await store.deleteObject(row.storagePath);
    throw new AppError('unsupported_media_type', `The file was uploaded as ${info.contentType}, not the declared ${row.contentType}; upload it again`);
  }
  let sha256 = info.sha256;
  if (!sha256) {
    // Supabase Storage reports no content hash: read the object back (at most the attachment limit).
    const bytes = await store.getObject(row.storagePath);
    if (bytes.length > limit) {
      await store.deleteObject(row.storagePath);
      throw new AppError('payload_too_large', `The uploaded file is larger than the ${limit} bytes declared; upload it again`);
    }
    sha256 = sha256Hex(bytes);
    info.size = bytes.length;
  }
  const [updated] = await sql<AttachmentRow[]>`
    update app.attachments set status = 'ready', size_bytes = ${info.size}, sha256 = ${sha256}
    where id = ${id} and org_id = ${ctx.orgId}
    returning ${columns(sql)}`;
  const attachment = view(updated!);
  await recordChange(ctx, {
    event: 'attachment.ready',
    topics: topicsFor(ctx, attachment),
    data: attachment,
    audit: { entityType: 'attachment', entityId: id, data: { sizeBytes: info.size, sha256 } },
  });
  return attachment;
}

/** One attachment; a `ready` one comes with a short-lived signed download URL. */
export async function getAttachment(ctx: Ctx, id: string) {
  const row = await loadRow(ctx, id);
  const download =
    row.status === 'ready' ? await storage().createSignedDownloadUrl(row.storagePath, { expiresIn: DOWNLOAD_URL_SECONDS, filename: row.filename }) : null;
  return { ...view(row), download: download && { url: download.url, expiresAt: download.expiresAt.toISOString() } };
}

export interface InboundAttachmentInput {
  messageId: string;
  threadId: string;
  filename: string;
  contentType: string;
  content: Buffer;
  contentId?: string;
  inline?: boolean;
  /**
   * File it as a document too (a PDF or an image that is not a small inline logo), read by the
   * `document.read` job: set for customers' inbound email and WhatsApp, not for spam or outbound copies.
   */
  document?: 'email' | 'whatsapp';
}

/**
 * Stores an attachment of a received message (server side, inside the ingest transaction): the bytes
 * go to `org/{org}/messages/{message}/{sha256}/{name}` and a `ready` row is inserted (`quarantined`
 * for executables and scripts). Running it again for the same message and bytes changes nothing.
 */
export async function storeInboundAttachment(ctx: Ctx, input: InboundAttachmentInput): Promise<Attachment> {
  const sql = ctx.sql;
  const contentType = mediaType(input.contentType) ?? 'application/octet-stream';
  const filename = sanitizeFilename(input.filename) ?? `attachment.${extensionForContentType(contentType)}`;
  const sha256 = sha256Hex(input.content);
  const storagePath = `org/${ctx.orgId}/messages/${input.messageId}/${sha256}/${storageSegment(filename)}`;
  const status = blockedReason(filename, contentType) ? 'quarantined' : 'ready';
  await storage().putObject(storagePath, input.content, contentType);
  const [inserted] = await sql<AttachmentRow[]>`
    insert into app.attachments ${sql({
      orgId: ctx.orgId,
      messageId: input.messageId,
      threadId: input.threadId,
      filename,
      contentType,
      sizeBytes: input.content.length,
      sha256,
      storagePath,
      contentId: input.contentId ?? null,
      isInline: input.inline ?? false,
      status,
    } as never)}
    on conflict (org_id, storage_path) do nothing
    returning ${columns(sql)}`;
  if (!inserted) {
    const [existing] = await sql<AttachmentRow[]>`
      select ${columns(sql)} from app.attachments where org_id = ${ctx.orgId} and storage_path = ${storagePath}`;
    const attachment = view(existing!);
    // A redelivery: its document (one per attachment) is filed at most once.
    if (input.document) await fileInboundDocument(ctx, attachment, input.document);
    return attachment;
  }
  const attachment = view(inserted);
  if (input.document) await fileInboundDocument(ctx, attachment, input.document);
  await recordChange(ctx, {
    event: `attachment.${status}`,
    topics: topicsFor(ctx, attachment),
    data: attachment,
    audit: { entityType: 'attachment', entityId: attachment.id, data: { messageId: input.messageId, filename, sha256, status } },
  });
  return attachment;
}

/** Stores a raw message source (e.g. the .eml of a received email) and returns its storage path. */
export async function storeRawSource(orgId: string, key: string, bytes: Uint8Array): Promise<string> {
  const name = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,150}$/.test(key) ? key : sha256Hex(Buffer.from(key, 'utf8'));
  const path = `org/${orgId}/raw/${name.toLowerCase().endsWith('.eml') ? name : `${name}.eml`}`;
  await storage().putObject(path, bytes, 'message/rfc822');
  return path;
}
