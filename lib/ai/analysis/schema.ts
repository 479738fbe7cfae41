// The result of analysing one inbound message, shared by the offline (rules) analyser and the LLM one:
// intent, sentiment, urgency, a one-line summary, the language and the entities an operator acts on.
import * as z from 'zod';

export const INTENTS = [
  'quote_request',
  'booking_request',
  'shipment_status',
  'document_submission',
  'document_request',
  'invoice_payment',
  'complaint',
  'customs',
  'schedule_change',
  'general',
] as const;
export const SENTIMENTS = ['positive', 'neutral', 'negative'] as const;
export const URGENCIES = ['low', 'normal', 'high', 'critical'] as const;
export const INCOTERMS = ['EXW', 'FCA', 'FAS', 'FOB', 'CFR', 'CIF', 'CPT', 'CIP', 'DAP', 'DPU', 'DDP'] as const;

export type Intent = (typeof INTENTS)[number];
export type Sentiment = (typeof SENTIMENTS)[number];
export type Urgency = (typeof URGENCIES)[number];
export type Incoterm = (typeof INCOTERMS)[number];

export const SUMMARY_MAX = 160;

export const unLocode = z.string().regex(/^[A-Z]{2}[A-Z2-9]{3}$/, 'must be a UN/LOCODE such as INNSA');
export const hsCode = z.string().regex(/^\d{4,10}$/, 'must be 4 to 10 digits');
export const isoDate = z.iso.date();

export const analysisEntities = z.object({
  containers: z.array(z.string()),
  awbs: z.array(z.string()),
  bls: z.array(z.string()),
  bookings: z.array(z.string()),
  ports: z.array(unLocode),
  dates: z.array(isoDate),
  incoterms: z.array(z.enum(INCOTERMS)),
  hsCodes: z.array(hsCode),
});

export const analysisResult = z.object({
  intent: z.enum(INTENTS),
  sentiment: z.enum(SENTIMENTS),
  sentimentScore: z.number().min(-1).max(1),
  urgency: z.enum(URGENCIES),
  summary: z
    .string()
    .max(SUMMARY_MAX)
    .refine((s) => !/[\r\n]/.test(s), 'must be one line'),
  language: z.string().regex(/^[a-z]{2}$/, 'must be an ISO 639-1 code'),
  entities: analysisEntities,
});

export type AnalysisEntities = z.infer<typeof analysisEntities>;
export type AnalysisResult = z.infer<typeof analysisResult>;

/** What an analyser reads: the message as stored. */
export interface AnalysisInput {
  subject?: string | null;
  /** The full plain text, quoted history included (identifiers are read from it). */
  body?: string | null;
  /** The new text without quoted history, when the ingest pipeline already split it. */
  newText?: string | null;
  /** When the message was sent: relative dates ("28th Nov", "ETD 14.11") resolve against it. */
  date?: Date | null;
  from?: string | null;
}

/** Which analyser produced a stored result. */
export type AnalysisSource = 'offline' | 'llm';
