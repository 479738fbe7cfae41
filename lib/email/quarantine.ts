// The mail quarantine: messages a mailbox poll could not store (unreadable, too large to download, or
// failing to store three polls in a row) wait here with their raw source and error instead of stalling
// their folder. Owners and admins list them (never the source inline: its size and a signed download
// link), reprocess them (lib/email/quarantine-reprocess.ts) or discard them; every change is announced
// on the organization's topic and audited.
import * as z from 'zod';
import { DOWNLOAD_URL_SECONDS } from '../attachments/service.js';
import type { Ctx } from '../context.js';
import { AppError, conflict, notFound } from '../errors.js';
import { decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { log } from '../log.js';
import { recordChange, topics } from '../realtime.js';
import { storage } from '../storage/index.js';

export const quarantineListQuery = z.object({
  ...pageQuery,
  channelId: z.uuid('must be a channel id (uuid)').optional(),
  folder: z.string().min(1).max(1000).optional(),
  /** open: still waiting (default); resolved: reprocessed or discarded; all. */
  status: z.enum(['open', 'resolved', 'all']).default('open'),
});

const COLUMNS = `q.id, q.channel_id, c.name as channel_name, q.folder, q.uid, q.uid_validity, q.error, q.raw_storage_path, q.raw_size,
  q.attempts, q.last_attempt_at, q.created_at, q.resolved_at, q.resolution, q.resolved_by, q.message_id`;

export interface QuarantineRow {
  id: string;
  channelId: string | null;
  channelName: string | null;
  folder: string | null;
  uid: string | null;
  uidValidity: string | null;
  error: string;
  rawStoragePath: string | null;
  rawSize: number | null;
  attempts: number;
  lastAttemptAt: Date | null;
  createdAt: Date;
  resolvedAt: Date | null;
  resolution: 'reprocessed' | 'discarded' | null;
  resolvedBy: string | null;
  messageId: string | null;
}

/** The row as the API shows it; the raw source only as its size and whether it is kept. */
export function quarantineView(row: QuarantineRow) {
  return {
    id: row.id,
    channelId: row.channelId,
    channelName: row.channelName,
    folder: row.folder,
    uid: row.uid === null ? null : Number(row.uid),
    uidValidity: row.uidValidity === null ? null : Number(row.uidValidity),
    error: row.error,
    attempts: row.attempts,
    lastAttemptAt: row.lastAttemptAt,
    createdAt: row.createdAt,
    status: row.resolution ?? 'open',
    resolvedAt: row.resolvedAt,
    resolvedBy: row.resolvedBy,
    messageId: row.messageId,
    raw: { size: row.rawSize, stored: row.rawStoragePath !== null },
  };
}

/** What the organization's topic carries: the row without its error text (members who may not read the quarantine subscribe too). */
function broadcastView(row: QuarantineRow) {
  const { error: _error, ...rest } = quarantineView(row);
  return rest;
}

/** A short-lived signed link to the raw source, or null when none is kept or storage cannot sign one. */
async function downloadOf(row: QuarantineRow): Promise<{ url: string; expiresAt: string } | null> {
  if (!row.rawStoragePath) return null;
  try {
    const filename = `quarantined-${row.uid ?? row.id}.eml`;
    const signed = await storage().createSignedDownloadUrl(row.rawStoragePath, { expiresIn: DOWNLOAD_URL_SECONDS, filename });
    return { url: signed.url, expiresAt: signed.expiresAt.toISOString() };
  } catch (error) {
    // The listing stays useful when storage is unreachable; the link is simply missing.
    if (!(error instanceof AppError)) throw error;
    log.warn('no download link for a quarantined message', { id: row.id, error: error.message });
    return null;
  }
}

async function withDownload(row: QuarantineRow) {
  const view = quarantineView(row);
  return { ...view, raw: { ...view.raw, download: await downloadOf(row) } };
}

const cursorShape = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

/** GET /api/admin/mail-quarantine: newest first, by channel and folder, open ones by default. */
export async function listQuarantine(ctx: Ctx, q: z.infer<typeof quarantineListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, cursorShape);
  const rows = await sql<(QuarantineRow & { sortAt: string })[]>`
    select ${sql.unsafe(COLUMNS)}, ${exactInstant(sql, 'q.created_at', 'sort_at')} from app.mail_quarantine q left join app.channels c on c.id = q.channel_id
    where q.org_id = ${ctx.orgId}
      ${q.status === 'open' ? sql`and q.resolved_at is null` : q.status === 'resolved' ? sql`and q.resolved_at is not null` : sql``}
      ${q.channelId ? sql`and q.channel_id = ${q.channelId}` : sql``}
      ${q.folder ? sql`and q.folder = ${q.folder}` : sql``}
      ${after ? sql`and (q.created_at, q.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by q.created_at desc, q.id desc limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  return { data: await Promise.all(page.data.map(withDownload)), nextCursor: page.nextCursor };
}

/** The row, locked for the rest of the transaction when asked (a reprocess and a discard of one row queue up). */
export async function loadQuarantined(ctx: Ctx, id: string, options: { lock?: boolean } = {}): Promise<QuarantineRow> {
  const sql = ctx.sql;
  const [row] = await sql<QuarantineRow[]>`
    select ${sql.unsafe(COLUMNS)} from app.mail_quarantine q left join app.channels c on c.id = q.channel_id
    where q.id = ${id} and q.org_id = ${ctx.orgId}
    ${options.lock ? sql`for update of q` : sql``}`;
  if (!row) throw notFound('Quarantined message');
  return row;
}

/** GET /api/admin/mail-quarantine/{id}. */
export async function getQuarantined(ctx: Ctx, id: string) {
  return withDownload(await loadQuarantined(ctx, id));
}

/** Refuses to act on a row that already left the quarantine. */
export function assertOpen(row: QuarantineRow): void {
  if (row.resolution) throw conflict(`This message was already ${row.resolution}`, { status: row.resolution, messageId: row.messageId });
}

/** Announces a quarantine row on the organization's topic, with its audit row. */
export async function announceQuarantine(
  ctx: Ctx,
  id: string,
  event: 'created' | 'updated',
  audit: { action: string; data?: unknown },
): Promise<QuarantineRow> {
  const row = await loadQuarantined(ctx, id);
  await recordChange(ctx, {
    event: `mail_quarantine.${event}`,
    topics: [topics.org(ctx.orgId)],
    data: broadcastView(row),
    audit: { action: audit.action, entityType: 'mail_quarantine', entityId: id, data: audit.data },
  });
  return row;
}

export interface QuarantineInput {
  channelId: string;
  folder: string;
  uidValidity: string;
  uid: number;
  rawStoragePath: string | null;
  rawSize: number;
  error: string;
}

/** The poller's side: puts a message in quarantine once per UID (within its UIDVALIDITY) and announces it. */
export async function quarantineMessage(ctx: Ctx, input: QuarantineInput): Promise<void> {
  const [row] = await ctx.sql<{ id: string }[]>`
    insert into app.mail_quarantine (org_id, channel_id, folder, uid_validity, uid, raw_storage_path, raw_size, error)
    values (${ctx.orgId}, ${input.channelId}, ${input.folder}, ${input.uidValidity}::bigint, ${input.uid}, ${input.rawStoragePath}, ${input.rawSize},
      ${input.error.slice(0, 2000)})
    on conflict do nothing
    returning id`;
  if (row) await announceQuarantine(ctx, row.id, 'created', { action: 'mail_quarantine.created', data: { error: input.error.slice(0, 2000) } });
}

/**
 * DELETE /api/admin/mail-quarantine/{id}: the message will not be stored. The row stays (resolved,
 * `discarded`, with who did it) as does its raw source: sources are kept by content hash and may be
 * shared with a stored copy of the same bytes.
 */
export async function discardQuarantined(ctx: Ctx, id: string) {
  const before = await loadQuarantined(ctx, id, { lock: true });
  assertOpen(before);
  await ctx.sql`
    update app.mail_quarantine set resolved_at = now(), resolution = 'discarded', resolved_by = ${ctx.userId}
    where id = ${id} and org_id = ${ctx.orgId}`;
  const row = await announceQuarantine(ctx, id, 'updated', {
    action: 'mail_quarantine.discarded',
    data: { channelId: before.channelId, folder: before.folder, uid: before.uid, error: before.error },
  });
  return quarantineView(row);
}
