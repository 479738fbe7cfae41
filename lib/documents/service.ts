// Documents of an organization (/api/documents): a member's upload (an attachment confirmed through the
// signed-URL flow) or an inbound email or WhatsApp file (./inbound.ts); listed by shipment, thread, type
// and status; downloaded through signed URLs; status, type, title, shipment and fields edited by agents,
// every correction kept and marked. The reading job (./jobs.ts) stores what it read with applyReading:
// the document's identifiers link it to the one shipment that carries them, or make a suggested
// shipment an agent creates in one request (createShipmentFromDocument).
import * as z from 'zod';
import { DOWNLOAD_URL_SECONDS } from '../attachments/service.js';
import type { Ctx } from '../context.js';
import { AppError, conflict, fromZod, invalid, notFound } from '../errors.js';
import { canonicalIdentifiers, normalizeContainerNumber } from '../logistics/identifiers.js';
import { csvList, decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { recordChange, type EventsOf } from '../realtime.js';
import { shipmentCreate } from '../shipments/schemas.js';
import { createShipment } from '../shipments/service.js';
import { storage } from '../storage/index.js';
import { now } from '../time.js';
import { documentTopics, enqueueDocumentRead } from './inbound.js';
import {
  DOCUMENT_STATUSES,
  DOCUMENT_TYPES,
  FIELD_NAMES,
  FIELD_VALUES,
  READ_STATUSES,
  type DocumentField,
  type DocumentFields,
  type DocumentType,
  type FieldName,
  type PageText,
} from './types.js';

export const documentListQuery = z.object({
  ...pageQuery,
  shipmentId: z.uuid().optional(),
  threadId: z.uuid().optional(),
  type: csvList(z.enum(DOCUMENT_TYPES)),
  status: csvList(z.enum(DOCUMENT_STATUSES)),
  readStatus: csvList(z.enum(READ_STATUSES)),
});

const title = z.string().trim().min(1).max(300);

export const documentCreate = z.strictObject({
  /** A `ready` attachment (POST /api/attachments/uploads, PUT, then /confirm). */
  attachmentId: z.uuid(),
  title: title.optional(),
  /** Known already: the reading keeps it (an agent's word beats the rules). */
  type: z.enum(DOCUMENT_TYPES).optional(),
  status: z.enum(DOCUMENT_STATUSES).default('received'),
  shipmentId: z.uuid().optional(),
  threadId: z.uuid().optional(),
});

/** A correction of a field: its new value, or null to clear it. */
const fieldCorrections = z.strictObject(
  Object.fromEntries(FIELD_NAMES.map((name) => [name, FIELD_VALUES[name].nullable().optional()])) as unknown as Record<
    FieldName,
    z.ZodOptional<z.ZodNullable<z.ZodType>>
  >,
);

export const documentUpdate = z
  .strictObject({
    status: z.enum(DOCUMENT_STATUSES),
    type: z.enum(DOCUMENT_TYPES),
    title,
    shipmentId: z.uuid().nullable(),
    fields: fieldCorrections,
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

/** Overrides of the suggested shipment (any POST /api/shipments field, e.g. another `reference`). */
export const documentShipmentBody = z.record(z.string(), z.unknown()).default({});

export interface Correction {
  field: string;
  from: unknown;
  to: unknown;
  by: string | null;
  at: string;
}

export interface DocumentView {
  id: string;
  shipmentId: string | null;
  threadId: string | null;
  messageId: string | null;
  attachmentId: string | null;
  type: DocumentType;
  title: string;
  status: (typeof DOCUMENT_STATUSES)[number];
  source: 'upload' | 'email' | 'whatsapp';
  filename: string | null;
  contentType: string | null;
  sizeBytes: number | null;
  readStatus: (typeof READ_STATUSES)[number];
  readError: string | null;
  readAt: Date | null;
  textMethod: 'text' | 'ocr' | 'mixed' | null;
  pageCount: number | null;
  typeSource: 'rules' | 'llm' | 'agent';
  typeConfidence: number | null;
  fields: DocumentFields;
  corrections: Correction[];
  extractedBy: string | null;
  identifiers: string[];
  suggestedShipment: Record<string, unknown> | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const columns = (sql: Ctx['sql']) => sql`
  d.id, d.shipment_id, d.thread_id, d.message_id, d.attachment_id, d.type, d.title, d.status, d.source,
  a.filename, a.content_type, a.size_bytes::float8 as size_bytes, d.read_status, d.read_error, d.read_at, d.text_method,
  d.page_count, d.type_source, d.type_confidence::float8 as type_confidence, d.fields, d.corrections, d.extracted_by,
  d.identifiers, d.suggested_shipment, d.created_by, d.created_at, d.updated_at`;
const from = (sql: Ctx['sql']) => sql`from app.documents d left join app.attachments a on a.id = d.attachment_id and a.org_id = d.org_id`;

export async function listDocuments(ctx: Ctx, q: z.infer<typeof documentListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, z.tuple([z.iso.datetime({ offset: true }), z.uuid()]));
  const rows = await sql<(DocumentView & { sortAt: string })[]>`
    select ${columns(sql)}, ${exactInstant(sql, 'd.created_at', 'sort_at')} ${from(sql)}
    where d.org_id = ${ctx.orgId}
      ${q.shipmentId ? sql`and d.shipment_id = ${q.shipmentId}` : sql``}
      ${q.threadId ? sql`and d.thread_id = ${q.threadId}` : sql``}
      ${q.type ? sql`and d.type = any(${q.type}::text[])` : sql``}
      ${q.status ? sql`and d.status = any(${q.status}::text[])` : sql``}
      ${q.readStatus ? sql`and d.read_status = any(${q.readStatus}::text[])` : sql``}
      ${after ? sql`and (d.created_at, d.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by d.created_at desc, d.id desc
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  return { ...page, data: page.data.map(({ sortAt: _s, ...r }) => r) };
}

async function loadDocument(ctx: Ctx, id: string, lock = false): Promise<DocumentView> {
  const sql = ctx.sql;
  if (lock) {
    const [locked] = await sql`select id from app.documents where id = ${id} and org_id = ${ctx.orgId} for update`;
    if (!locked) throw notFound('Document');
  }
  const [row] = await sql<DocumentView[]>`select ${columns(sql)} ${from(sql)} where d.id = ${id} and d.org_id = ${ctx.orgId}`;
  if (!row) throw notFound('Document');
  return row;
}

/** One document with its text per page and a 5-minute signed download URL. */
export async function getDocument(ctx: Ctx, id: string) {
  const document = await loadDocument(ctx, id);
  const [extra] = await ctx.sql<{ pages: PageText[]; storagePath: string | null; attachmentStatus: string | null }[]>`
    select d.pages, coalesce(a.storage_path, d.storage_path) as storage_path, a.status as attachment_status
    ${from(ctx.sql)} where d.id = ${id} and d.org_id = ${ctx.orgId}`;
  const downloadable = extra!.storagePath && (extra!.attachmentStatus === null || extra!.attachmentStatus === 'ready');
  const download = downloadable
    ? await storage().createSignedDownloadUrl(extra!.storagePath!, { expiresIn: DOWNLOAD_URL_SECONDS, filename: document.filename ?? document.title })
    : null;
  return { ...document, pages: extra!.pages, download: download && { url: download.url, expiresAt: download.expiresAt.toISOString() } };
}

async function requireIn(ctx: Ctx, table: 'shipments' | 'threads', id: string, path: string) {
  const [row] = await ctx.sql`select 1 from ${ctx.sql(`app.${table}`)} where id = ${id} and org_id = ${ctx.orgId}`;
  if (!row) throw invalid(path, `is not a ${table === 'shipments' ? 'shipment' : 'thread'} of this organization`);
}

const announce = (ctx: Ctx, event: EventsOf<'document'>, d: DocumentView, data?: unknown) =>
  recordChange(ctx, { event, topics: documentTopics(ctx, d), data: d, audit: { entityType: 'document', entityId: d.id, data } });

/** A member's document from a confirmed upload; read by the `document.read` job. */
export async function createDocument(ctx: Ctx, input: z.infer<typeof documentCreate>): Promise<DocumentView> {
  const sql = ctx.sql;
  const [attachment] = await sql<{ id: string; status: string; filename: string; storagePath: string; threadId: string | null }[]>`
    select id, status, filename, storage_path, thread_id from app.attachments where id = ${input.attachmentId} and org_id = ${ctx.orgId}`;
  if (!attachment) throw invalid('body.attachmentId', 'is not an attachment of this organization');
  if (attachment.status !== 'ready')
    throw invalid('body.attachmentId', `is ${attachment.status}: confirm the upload first (POST /api/attachments/{id}/confirm)`);
  if (input.shipmentId) await requireIn(ctx, 'shipments', input.shipmentId, 'body.shipmentId');
  if (input.threadId) await requireIn(ctx, 'threads', input.threadId, 'body.threadId');
  const [row] = await sql<{ id: string }[]>`
    insert into app.documents ${sql({
      orgId: ctx.orgId,
      attachmentId: attachment.id,
      threadId: input.threadId ?? attachment.threadId,
      shipmentId: input.shipmentId ?? null,
      title: input.title ?? attachment.filename.slice(0, 300),
      type: input.type ?? 'other',
      typeSource: input.type ? 'agent' : 'rules',
      status: input.status,
      storagePath: attachment.storagePath,
      source: 'upload',
      createdBy: ctx.userId,
    } as never)}
    on conflict (org_id, attachment_id) where attachment_id is not null do nothing
    returning id`;
  if (!row) {
    const [existing] = await sql<{ id: string }[]>`select id from app.documents where org_id = ${ctx.orgId} and attachment_id = ${attachment.id}`;
    throw conflict(`body.attachmentId: attachment ${attachment.id} is already document ${existing!.id}`, {
      issues: [{ path: 'body.attachmentId', message: 'is already a document' }],
      documentId: existing!.id,
    });
  }
  await enqueueDocumentRead(ctx, row.id);
  const document = await loadDocument(ctx, row.id);
  await announce(ctx, 'document.created', document, input);
  return document;
}

/** Canonical freight identifiers of a document's fields (containers only when their check digit holds). */
export function identifiersOf(fields: DocumentFields): string[] {
  const list = (f: DocumentField | undefined) => (f ? (Array.isArray(f.value) ? f.value : [String(f.value)]) : []);
  const containers = list(fields.containerNumbers)
    .map((c) => normalizeContainerNumber(c))
    .filter((c): c is string => c !== null);
  return canonicalIdentifiers({ containers, awbs: [], bls: list(fields.blNumber), bookings: list(fields.bookingNumber) });
}

const str = (f: DocumentField | undefined) => (f && typeof f.value === 'string' ? f.value : undefined);

/** A ready POST /api/shipments body from what the document says (only fields that pass the shipment's own schema). */
export function suggestShipment(type: DocumentType, fields: DocumentFields): Record<string, unknown> | null {
  const ids = identifiersOf(fields);
  if (!ids.length) return null;
  const containers = Array.isArray(fields.containerNumbers?.value)
    ? fields.containerNumbers.value.map((c) => normalizeContainerNumber(c)).filter((c): c is string => c !== null)
    : [];
  const bl = str(fields.blNumber)?.replace(/\s+/g, '').toUpperCase();
  const booking = str(fields.bookingNumber)?.replace(/\s+/g, '').toUpperCase();
  const candidate: Record<string, unknown> = {
    reference: bl ?? booking ?? containers[0],
    mode: 'sea_fcl',
    containers,
    ...(bl ? (type === 'house_bill_of_lading' ? { hbls: [bl] } : { mbls: [bl] }) : {}),
    ...(booking ? { bookings: [booking] } : {}),
    ...(str(fields.invoiceNumber) ? { invoiceNumbers: [str(fields.invoiceNumber)!.replace(/\s+/g, '').toUpperCase()] } : {}),
    originPort: fields.portOfLoading?.code ?? undefined,
    destinationPort: fields.portOfDischarge?.code ?? undefined,
    vessel: str(fields.vessel),
    voyage: str(fields.voyage),
    incoterm: str(fields.incoterm),
    packages: typeof fields.packageCount?.value === 'number' ? fields.packageCount.value : undefined,
    grossWeightKg: typeof fields.grossWeightKg?.value === 'number' ? fields.grossWeightKg.value : undefined,
    eta: str(fields.eta) ? `${str(fields.eta)}T00:00:00Z` : undefined,
    parties: {
      ...(str(fields.shipper) ? { shipper: { name: str(fields.shipper)! } } : {}),
      ...(str(fields.consignee) ? { consignee: { name: str(fields.consignee)! } } : {}),
    },
  };
  // Keep what the shipment schema accepts; drop a field it refuses rather than the whole suggestion.
  const suggestion: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(candidate)) {
    if (value === undefined) continue;
    if (shipmentCreate.safeParse({ reference: 'X', mode: 'sea_fcl', [key]: value }).success) suggestion[key] = value;
  }
  return suggestion.reference ? suggestion : null;
}

/**
 * Files the document by its identifiers: to the one shipment that carries them (several: left to an
 * agent), or, when none does, a suggested shipment. A document already on a shipment stays there.
 */
async function fileByIdentifiers(ctx: Ctx, id: string, type: DocumentType, fields: DocumentFields) {
  const sql = ctx.sql;
  const identifiers = identifiersOf(fields);
  const [current] = await sql<{ shipmentId: string | null }[]>`select shipment_id from app.documents where id = ${id} and org_id = ${ctx.orgId}`;
  let shipmentId = current!.shipmentId;
  let suggestion: Record<string, unknown> | null = null;
  if (!shipmentId && identifiers.length) {
    const found = await sql<{ id: string }[]>`select id from app.shipment_ids_by_identifier(${identifiers}::text[])`;
    if (found.length === 1) shipmentId = found[0]!.id;
    else if (found.length === 0) suggestion = suggestShipment(type, fields);
  }
  await sql`
    update app.documents set identifiers = ${identifiers}::text[], shipment_id = ${shipmentId},
      suggested_shipment = ${suggestion ? sql.json(suggestion as never) : null}
    where id = ${id} and org_id = ${ctx.orgId}`;
}

export interface StoredReading {
  pages: PageText[];
  method: 'text' | 'ocr' | 'mixed';
  type: DocumentType;
  typeConfidence: number;
  typeSource: 'rules' | 'llm';
  fields: DocumentFields;
  extractedBy: string;
}

/**
 * Stores a reading (the job's last step): text per page, type and fields. What an agent set stays:
 * a corrected field, and a type an agent chose.
 */
export async function applyReading(ctx: Ctx, id: string, reading: StoredReading): Promise<DocumentView | null> {
  const sql = ctx.sql;
  const [current] = await sql<{ fields: DocumentFields; typeSource: string; type: DocumentType }[]>`
    select fields, type_source, type from app.documents where id = ${id} and org_id = ${ctx.orgId} for update`;
  if (!current) return null;
  const fields: DocumentFields = { ...reading.fields };
  for (const [name, f] of Object.entries(current.fields) as [FieldName, DocumentField][]) if (f.origin === 'agent') fields[name] = f;
  const agentType = current.typeSource === 'agent';
  const type = agentType ? current.type : reading.type;
  await sql`
    update app.documents set
      pages = ${sql.json(reading.pages as never)}, page_count = ${reading.pages.length}, text_method = ${reading.method},
      type = ${type}, type_source = ${agentType ? 'agent' : reading.typeSource}, type_confidence = ${agentType ? 1 : reading.typeConfidence},
      fields = ${sql.json(fields as never)}, extracted_by = ${reading.extractedBy},
      read_status = 'done', read_error = null, read_at = ${now()}
    where id = ${id} and org_id = ${ctx.orgId}`;
  await fileByIdentifiers(ctx, id, type, fields);
  const document = await loadDocument(ctx, id);
  await announce(ctx, 'document.read', document, { type, fields: Object.keys(fields), extractedBy: reading.extractedBy });
  return document;
}

/** Records that a document cannot be read (a dead job, a file that is no PDF or image). */
export async function markUnreadable(ctx: Ctx, id: string, error: string): Promise<void> {
  const [row] = await ctx.sql`
    update app.documents set read_status = 'failed', read_error = ${error.slice(0, 2000)}, read_at = ${now()}
    where id = ${id} and org_id = ${ctx.orgId} returning id`;
  if (row) await announce(ctx, 'document.read', await loadDocument(ctx, id), { error });
}

/** Status, title, type, shipment and field corrections; each correction is kept with who and when. */
export async function updateDocument(ctx: Ctx, id: string, input: z.infer<typeof documentUpdate>): Promise<DocumentView> {
  const sql = ctx.sql;
  const before = await loadDocument(ctx, id, true);
  const at = now().toISOString();
  const corrections: Correction[] = [];
  const changes: Record<string, unknown> = {};
  if (input.status !== undefined) changes.status = input.status;
  if (input.title !== undefined) changes.title = input.title;
  if (input.shipmentId !== undefined) {
    if (input.shipmentId) await requireIn(ctx, 'shipments', input.shipmentId, 'body.shipmentId');
    changes.shipmentId = input.shipmentId;
    if (input.shipmentId) changes.suggestedShipment = null;
  }
  let type = before.type;
  if (input.type !== undefined && input.type !== before.type) {
    corrections.push({ field: 'type', from: before.type, to: input.type, by: ctx.userId, at });
    changes.type = type = input.type;
    changes.typeSource = 'agent';
    changes.typeConfidence = 1;
  }
  let fields = before.fields;
  if (input.fields) {
    fields = { ...before.fields };
    for (const [name, value] of Object.entries(input.fields) as [FieldName, unknown][]) {
      if (value === undefined) continue;
      if (name === 'containerNumbers' && Array.isArray(value)) {
        value.forEach((c, i) => {
          if (!normalizeContainerNumber(String(c)))
            throw invalid(`body.fields.containerNumbers.${i}`, 'must be an ISO 6346 container number with a valid check digit');
        });
      }
      const previous = before.fields[name];
      corrections.push({ field: name, from: previous?.value ?? null, to: value, by: ctx.userId, at });
      if (value === null) delete fields[name];
      else fields[name] = { value: value as DocumentField['value'], page: null, source: null, confidence: 1, origin: 'agent', corrected: true };
    }
    changes.fields = sql.json(fields as never);
  }
  if (corrections.length) changes.corrections = sql.json([...before.corrections, ...corrections] as never);
  await sql`update app.documents set ${sql(changes as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  // Corrected identifiers or type file it again (an explicit shipment choice stands).
  if ((input.fields || input.type) && input.shipmentId === undefined) await fileByIdentifiers(ctx, id, type, fields);
  const document = await loadDocument(ctx, id);
  await announce(ctx, 'document.updated', document, { ...input, corrections: corrections.length });
  return document;
}

/** Creates the shipment the document suggests (with the caller's overrides) and files the document to it. */
export async function createShipmentFromDocument(ctx: Ctx, id: string, overrides: Record<string, unknown>) {
  const before = await loadDocument(ctx, id, true);
  if (before.shipmentId) throw conflict(`The document is already filed to shipment ${before.shipmentId}`, { shipmentId: before.shipmentId });
  if (!before.suggestedShipment)
    throw new AppError('conflict', 'The document names no freight identifiers no shipment carries: there is no shipment to suggest');
  const parsed = shipmentCreate.safeParse({ ...before.suggestedShipment, ...overrides });
  if (!parsed.success) throw fromZod(parsed.error, 'body');
  const shipment = await createShipment(ctx, parsed.data);
  await ctx.sql`update app.documents set shipment_id = ${shipment.id}, suggested_shipment = null where id = ${id} and org_id = ${ctx.orgId}`;
  const document = await loadDocument(ctx, id);
  await announce(ctx, 'document.updated', document, { shipmentId: shipment.id, created: true });
  return { document, shipment };
}
