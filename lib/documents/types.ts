// The vocabulary of documents: their types and statuses as the schema allows them, and the fields a
// reading finds (each with its page, the text it was read from and a confidence). Light on purpose:
// routes, ingest and the reading job all import it.
import * as z from 'zod';

export const DOCUMENT_TYPES = [
  'bill_of_lading',
  'house_bill_of_lading',
  'seaway_bill',
  'booking_confirmation',
  'commercial_invoice',
  'packing_list',
  'arrival_notice',
  'delivery_order',
  'certificate_of_origin',
  'air_waybill',
  'shipping_bill',
  'bill_of_entry',
  'quote',
  'other',
] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

export const DOCUMENT_STATUSES = ['draft', 'received', 'approved', 'sent', 'rejected'] as const;
export const DOCUMENT_SOURCES = ['upload', 'email', 'whatsapp'] as const;
export const READ_STATUSES = ['pending', 'done', 'failed'] as const;

/** What a field's value is: text, a number, or a list of texts. */
const text = z.string().trim().min(1).max(500);
export const FIELD_VALUES = {
  blNumber: text,
  bookingNumber: text,
  containerNumbers: z.array(text).max(200),
  sealNumbers: z.array(text).max(200),
  vessel: text,
  voyage: text,
  portOfLoading: text,
  portOfDischarge: text,
  shipper: text,
  consignee: text,
  invoiceNumber: text,
  /** ISO date (YYYY-MM-DD). */
  invoiceDate: z.iso.date(),
  /** ISO 4217 code. */
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
  totalAmount: z.number().min(0).max(1e12),
  incoterm: z.enum(['EXW', 'FCA', 'FAS', 'FOB', 'CFR', 'CIF', 'CPT', 'CIP', 'DAP', 'DPU', 'DDP']),
  hsCodes: z.array(z.string().regex(/^\d{4,10}$/, 'must be 4 to 10 digits')).max(100),
  packageCount: z.number().int().min(0).max(10_000_000),
  grossWeightKg: z.number().min(0).max(1e9),
  /** ISO date (YYYY-MM-DD). */
  eta: z.iso.date(),
} as const;
export type FieldName = keyof typeof FIELD_VALUES;
export const FIELD_NAMES = Object.keys(FIELD_VALUES) as FieldName[];
export type FieldValue = string | number | string[];

export interface DocumentField {
  value: FieldValue;
  /** UN/LOCODE of a port field when the place is recognised. */
  code?: string | null;
  /** 1-based page the value was read on (null: given by an agent, or the model without a page). */
  page: number | null;
  /** The line of text it was read from. */
  source: string | null;
  confidence: number;
  origin: 'rules' | 'llm' | 'agent';
  /** Set when an agent changed it (the old value is in the document's corrections). */
  corrected?: boolean;
}

export type DocumentFields = Partial<Record<FieldName, DocumentField>>;

export interface PageText {
  page: number;
  text: string;
  method: 'text' | 'ocr';
  /** OCR's mean confidence (0..1); null for a text layer. */
  confidence: number | null;
}
