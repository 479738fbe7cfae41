// The LLM analyser: one structured-output call (AI SDK generateText + Output.object) to a chat model.
// The model classifies and summarises; identifiers are never asked of it (they always come from
// lib/logistics), ports / Incoterms / HS codes it names are kept only when they check out against the
// text, and the offline result supplies everything else. Any failure throws: the caller falls back.
import { generateText, Output, type LanguageModel } from 'ai';
import * as z from 'zod';
import { analysisResult, INCOTERMS, INTENTS, SENTIMENTS, SUMMARY_MAX, URGENCIES, type AnalysisInput, type AnalysisResult, type Incoterm } from './schema.js';
import { prepare } from './text.js';

/** What the model answers. Loose on lengths and formats (checked and normalised afterwards), strict on labels. */
export const llmOutputSchema = z.object({
  intent: z.enum(INTENTS).describe("The sender's main purpose"),
  sentiment: z.enum(SENTIMENTS),
  sentimentScore: z.number().describe('-1 (very negative) to 1 (very positive); 0 for neutral'),
  urgency: z.enum(URGENCIES),
  summary: z.string().describe(`One line of at most ${SUMMARY_MAX} characters: who wants what, with the key facts`),
  language: z.string().describe("ISO 639-1 code of the message's language, e.g. en, de, hi"),
  ports: z.array(z.string()).describe('UN/LOCODEs (e.g. INNSA, AEJEA) of ports and airports named in the message'),
  incoterms: z.array(z.enum(INCOTERMS)).describe('Incoterms named as trade terms'),
  hsCodes: z.array(z.string()).describe('HS codes written in the message, digits only'),
});

export type LlmOutput = z.infer<typeof llmOutputSchema>;

export const ANALYSIS_SYSTEM_PROMPT = `You analyse emails that reach the operations inbox of an Indian freight forwarder. They come from shippers, consignees, overseas agents, carriers, airlines, customs brokers (CHAs), transporters and banks, in Indian and European business English, Hindi written in Latin script, or other languages.

Read the new text of the message (quoted history is context only) and the subject, and answer:

intent (the sender's main purpose, exactly one):
- quote_request: asks for rates or an offer for a shipment not booked yet, negotiates rates, or chases a missing quote. Carrier GRI/tariff announcements are general.
- booking_request: places, confirms, amends or cancels a booking of space or equipment (including carrier booking confirmations and "rates OK, go ahead and book").
- shipment_status: asks where a shipment is or reports its progress (ETA query, departed, discharged, delivered, truck or train movement, arrival notice). Angry chases stay here.
- document_submission: sends shipment documents (invoice/packing list/SI/VGM, pre-alert, draft BL, POD, COO, surrender letter). A freight invoice is invoice_payment.
- document_request: asks for shipment documents (BL copy, DO, SI/VGM reminder, certificates), even for customs, when no customs event is reported.
- invoice_payment: freight or charges invoices, payments, reminders, statements, short payments, credit notes, bank-detail changes, billing disputes, requests to send an invoice.
- complaint: a service failure (damage, shortage, misdelivery, repeated rollovers, wrong BL, staff behaviour, no communication) with a request for redress, investigation or escalation.
- customs: a customs process or event (BE/SB filing, officer query, classification, examination, duty payment, LEO, hold, IGM, SB amendment), even in an angry chase about clearance.
- schedule_change: a vessel, flight or rail timetable change (delay, ETA/ETD revision, rollover notice, blank sailing, port omission, vessel substitution, cut-off change, flight cancellation), or a customer's reaction to one.
- general: anything else (out-of-office, greetings, introductions, office closures, KYC/address updates, GRI announcements, invitations).

sentiment: negative for frustration, dissatisfaction, a dispute or an escalation; positive for explicit thanks or satisfaction; otherwise neutral. Polite formulae ("kindly", "do the needful", "thanks in advance", "regards") are neutral, and so is a carrier notice that politely reports bad news.
urgency: critical when money or production is being lost now or the sender escalates; high for same-day deadlines, "urgent", "asap", cut-offs or an angry chase; low for notices that need no action; otherwise normal.
summary: one line, at most ${SUMMARY_MAX} characters, in English.
Only list ports, Incoterms and HS codes that are written in the message. Do not invent anything.`;

function promptFor(input: AnalysisInput): string {
  const prepared = prepare(input);
  const history = prepared.history.slice(0, 2000);
  const parts = [
    `Subject: ${prepared.subject || '(none)'}`,
    input.from ? `From: ${input.from}` : null,
    input.date ? `Date: ${input.date.toISOString().slice(0, 10)}` : null,
    '',
    'New text:',
    prepared.newText.slice(0, 8000) || '(empty)',
    history ? `\nQuoted history (context only):\n${history}` : null,
  ];
  return parts.filter((p) => p !== null).join('\n');
}

export interface LlmOptions {
  model: LanguageModel;
  timeoutMs: number;
  /** Retries of a failed call (default 1). */
  maxRetries?: number;
}

const flat = (s: string) => s.replace(/[\s.]/g, '');

/**
 * Analyses with the model and merges: labels, summary and language from the model; identifiers and dates
 * from the offline result; ports, Incoterms and HS codes from both when the model's ones check out.
 * Throws on any failure (HTTP error, timeout, output that does not parse or validate).
 */
export async function analyzeWithLlm(input: AnalysisInput, offline: AnalysisResult, options: LlmOptions): Promise<AnalysisResult> {
  const { output } = await generateText({
    model: options.model,
    output: Output.object({ schema: llmOutputSchema, name: 'message_analysis' }),
    system: ANALYSIS_SYSTEM_PROMPT,
    prompt: promptFor(input),
    temperature: 0,
    maxRetries: options.maxRetries ?? 1,
    abortSignal: AbortSignal.timeout(options.timeoutMs),
  });
  const text = `${input.subject ?? ''}\n${input.body ?? ''}`;
  const upper = text.toUpperCase();
  const digits = flat(text);
  const ports = output.ports.map((p) => p.trim().toUpperCase().replace(/\s+/g, ''));
  const incoterms = output.incoterms.filter((t): t is Incoterm => new RegExp(`\\b${t}\\b`).test(upper));
  const hsCodes = output.hsCodes.map(flat).filter((c) => /^\d{4,10}$/.test(c) && digits.includes(c));
  const summary = output.summary.replace(/\s+/g, ' ').trim();
  const merged: AnalysisResult = {
    intent: output.intent,
    sentiment: output.sentiment,
    sentimentScore: Math.max(-1, Math.min(1, Number.isFinite(output.sentimentScore) ? output.sentimentScore : 0)),
    urgency: output.urgency,
    summary: summary.length > SUMMARY_MAX ? `${summary.slice(0, SUMMARY_MAX - 1).trimEnd()}…` : summary || offline.summary,
    language: /^[a-z]{2}$/i.test(output.language.trim()) ? output.language.trim().toLowerCase() : offline.language,
    entities: {
      // Identifiers and dates are never the model's: validated extraction only.
      containers: offline.entities.containers,
      awbs: offline.entities.awbs,
      bls: offline.entities.bls,
      bookings: offline.entities.bookings,
      dates: offline.entities.dates,
      ports: [...new Set([...offline.entities.ports, ...ports.filter((p) => /^[A-Z]{2}[A-Z2-9]{3}$/.test(p))])],
      incoterms: [...new Set([...offline.entities.incoterms, ...incoterms])],
      hsCodes: [...new Set([...offline.entities.hsCodes, ...hsCodes])],
    },
  };
  return analysisResult.parse(merged);
}
