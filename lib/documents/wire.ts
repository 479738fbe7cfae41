// Documents as the API answers them (wire form: instants as ISO strings).
import * as z from 'zod';
import { shipmentWire } from '../shipments/wire.js';
import { pageOf, wireId, wireInstant } from '../wire.js';
import { DOCUMENT_SOURCES, DOCUMENT_STATUSES, DOCUMENT_TYPES, READ_STATUSES } from './types.js';

const fieldWire = z.strictObject({
  value: z.union([z.string(), z.number(), z.array(z.string())]),
  code: z.string().nullable().optional(),
  page: z.number().int().nullable(),
  source: z.string().nullable(),
  confidence: z.number(),
  origin: z.enum(['rules', 'llm', 'agent']),
  corrected: z.boolean().optional(),
});

const correctionWire = z.strictObject({
  field: z.string(),
  from: z.unknown(),
  to: z.unknown(),
  by: wireId.nullable(),
  at: wireInstant,
});

export const documentWire = z
  .strictObject({
    id: wireId,
    shipmentId: wireId.nullable(),
    threadId: wireId.nullable(),
    messageId: wireId.nullable(),
    attachmentId: wireId.nullable(),
    type: z.enum(DOCUMENT_TYPES),
    title: z.string(),
    status: z.enum(DOCUMENT_STATUSES),
    source: z.enum(DOCUMENT_SOURCES),
    filename: z.string().nullable(),
    contentType: z.string().nullable(),
    sizeBytes: z.number().nullable(),
    /** The reading: pending (queued), done, failed (readError says why). */
    readStatus: z.enum(READ_STATUSES),
    readError: z.string().nullable(),
    readAt: wireInstant.nullable(),
    textMethod: z.enum(['text', 'ocr', 'mixed']).nullable(),
    pageCount: z.number().int().nullable(),
    /** rules (offline), llm, or agent (corrected). */
    typeSource: z.enum(['rules', 'llm', 'agent']),
    typeConfidence: z.number().nullable(),
    fields: z.record(z.string(), fieldWire),
    corrections: z.array(correctionWire),
    extractedBy: z.string().nullable(),
    identifiers: z.array(z.string()),
    /** A ready `POST /api/shipments` body when the document names identifiers no shipment carries. */
    suggestedShipment: z.record(z.string(), z.unknown()).nullable(),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Document' });

export const documentPageWire = pageOf(documentWire);

export const documentDetailWire = documentWire
  .extend({
    pages: z.array(z.strictObject({ page: z.number().int(), text: z.string(), method: z.enum(['text', 'ocr']), confidence: z.number().nullable() })),
    /** A 5-minute signed download URL (null while the file is not stored). */
    download: z.strictObject({ url: z.string(), expiresAt: wireInstant }).nullable(),
  })
  .meta({ id: 'DocumentDetail' });

export const documentShipmentWire = z.strictObject({ document: documentWire, shipment: shipmentWire }).meta({ id: 'DocumentShipment' });
