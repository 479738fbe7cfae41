// Files an inbound attachment as a document: called by storeInboundAttachment (the one place inbound
// email and WhatsApp files are stored), in the ingest's transaction. PDFs and images only, and not the
// small inline images every signature and letterhead carries. One document per attachment (a unique
// index) and one reading job per document (the outbox's dedupe key): a retried or duplicated ingest
// files nothing twice. Light: SQL and the job's spec, nothing that reads a file.
import type { Attachment } from '../attachments/service.js';
import type { Ctx } from '../context.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { recordChange, topics } from '../realtime.js';

/** An inline image (cid: in the body) below this is a logo or a signature, not a document. */
export const INLINE_IMAGE_MIN_BYTES = 100 * 1024;
/** Any image below this is too small to be a readable page (icons, tracking pixels, social badges). */
export const IMAGE_MIN_BYTES = 15 * 1024;

/** Whether a received file should become a document. */
export function isDocumentCandidate(a: { contentType: string; sizeBytes: number | null; isInline: boolean }): boolean {
  const size = a.sizeBytes ?? 0;
  if (a.contentType === 'application/pdf') return size > 0;
  if (!/^image\/(?:png|jpe?g|pjpeg|tiff|webp|bmp)$/.test(a.contentType)) return false;
  if (size < IMAGE_MIN_BYTES) return false;
  return !(a.isInline && size < INLINE_IMAGE_MIN_BYTES);
}

/** Queues the reading of a document (once per document). */
export function enqueueDocumentRead(ctx: Ctx, documentId: string): Promise<string> {
  return enqueue(ctx, jobSpecs.documentRead, { documentId }, { dedupeKey: `document.read:${documentId}` });
}

/** The topics a document's events go to: the organization, and its thread's and shipment's. */
export function documentTopics(ctx: Ctx, d: { threadId: string | null; shipmentId: string | null }): string[] {
  return [
    topics.org(ctx.orgId),
    ...(d.threadId ? [topics.thread(ctx.orgId, d.threadId)] : []),
    ...(d.shipmentId ? [topics.shipment(ctx.orgId, d.shipmentId)] : []),
  ];
}

/** Makes the document of a received attachment (nothing when it is not a candidate or exists already). */
export async function fileInboundDocument(ctx: Ctx, attachment: Attachment, source: 'email' | 'whatsapp'): Promise<string | null> {
  if (attachment.status !== 'ready' || !attachment.messageId || !isDocumentCandidate(attachment)) return null;
  const sql = ctx.sql;
  const [row] = await sql<{ id: string }[]>`
    insert into app.documents (org_id, thread_id, message_id, attachment_id, title, storage_path, source, status)
    select ${ctx.orgId}, a.thread_id, a.message_id, a.id, left(a.filename, 300), a.storage_path, ${source}, 'received'
    from app.attachments a where a.id = ${attachment.id} and a.org_id = ${ctx.orgId}
    on conflict (org_id, attachment_id) where attachment_id is not null do nothing
    returning id`;
  if (!row) return null;
  await enqueueDocumentRead(ctx, row.id);
  await recordChange(ctx, {
    event: 'document.created',
    topics: documentTopics(ctx, { threadId: attachment.threadId, shipmentId: null }),
    data: { id: row.id, attachmentId: attachment.id, messageId: attachment.messageId, threadId: attachment.threadId, source },
    audit: { entityType: 'document', entityId: row.id, data: { attachmentId: attachment.id, source } },
  });
  return row.id;
}
