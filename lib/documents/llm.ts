// The model's reading of a document (AI SDK structured output), merged over the offline rules: the
// model may name the type and fill or fix fields, but a value is kept only when the document's text
// bears it out (an identifier written in it, a container whose check digit holds, a valid Incoterm or
// date); everything else stays as the rules read it. Any failure leaves the offline reading standing.
import { generateText, Output, type LanguageModel } from 'ai';
import * as z from 'zod';
import { normalizeContainerNumber } from '../logistics/identifiers.js';
import type { Reading } from './rules.js';
import { DOCUMENT_TYPES, FIELD_NAMES, FIELD_VALUES, type DocumentField, type DocumentFields, type FieldName, type PageText } from './types.js';

/** How a field's value is written for the model: the hints its own schema cannot carry in structured output. */
const HINTS: Partial<Record<FieldName, string>> = { invoiceDate: 'YYYY-MM-DD', eta: 'YYYY-MM-DD', currency: 'ISO 4217' };

/**
 * What the model answers: every field of FIELD_VALUES (one list), in the loose form structured output
 * accepts (every key present, null or [] when absent, no patterns or bounds); the answer is then held
 * to FIELD_VALUES' own rules.
 */
function loose(name: FieldName): z.ZodType {
  const strict = FIELD_VALUES[name] as z.ZodType;
  const hint = HINTS[name];
  if (strict instanceof z.ZodArray) return z.array(z.string());
  if (strict instanceof z.ZodNumber) return z.number().nullable();
  return hint ? z.string().nullable().describe(hint) : z.string().nullable();
}
export const documentLlmSchema = z.object({
  type: z.enum(DOCUMENT_TYPES),
  ...Object.fromEntries(FIELD_NAMES.map((name) => [name, loose(name)])),
});

const SYSTEM = `You read shipping documents for a freight forwarder. Name the document's type and copy each field
exactly as the document writes it (identifiers without changes); null or [] when the document does not say.
Weights in kilograms, dates as YYYY-MM-DD, HS codes as digits only.`;

const flat = (s: string) => s.replace(/[\s.,/-]/g, '').toUpperCase();

/** Where a value is written: the page and line, or null when the text does not contain it. */
function locate(pages: readonly PageText[], value: string): { page: number; source: string } | null {
  const target = flat(value);
  if (!target) return null;
  for (const p of pages) for (const line of p.text.split('\n')) if (flat(line).includes(target)) return { page: p.page, source: line.trim().slice(0, 300) };
  return null;
}

const TEXT_BOUND: ReadonlySet<FieldName> = new Set([
  'blNumber',
  'bookingNumber',
  'vessel',
  'voyage',
  'shipper',
  'consignee',
  'invoiceNumber',
  'portOfLoading',
  'portOfDischarge',
]);

export async function improveWithLlm(pages: readonly PageText[], offline: Reading, options: { model: LanguageModel; timeoutMs: number }): Promise<Reading> {
  const prompt = pages
    .map((p) => `--- page ${p.page} ---\n${p.text.slice(0, 6000)}`)
    .join('\n')
    .slice(0, 24_000);
  const { output } = await generateText({
    model: options.model,
    output: Output.object({ schema: documentLlmSchema, name: 'shipping_document' }),
    system: SYSTEM,
    prompt,
    temperature: 0,
    maxRetries: 1,
    abortSignal: AbortSignal.timeout(options.timeoutMs),
  });
  const fields: DocumentFields = { ...offline.fields };
  for (const name of FIELD_NAMES) {
    let value = (output as Record<string, unknown>)[name];
    if (value === null || (Array.isArray(value) && value.length === 0)) continue;
    if (name === 'containerNumbers') value = (value as string[]).map((c) => normalizeContainerNumber(c)).filter((c): c is string => c !== null);
    if (name === 'hsCodes') value = (value as string[]).map((c) => c.replace(/\D/g, ''));
    if (name === 'incoterm' && typeof value === 'string') value = value.trim().toUpperCase();
    const parsed = FIELD_VALUES[name].safeParse(value);
    if (!parsed.success || (Array.isArray(parsed.data) && parsed.data.length === 0)) continue;
    const current = offline.fields[name];
    if (current && JSON.stringify(current.value) === JSON.stringify(parsed.data)) continue;
    const first = Array.isArray(parsed.data) ? String(parsed.data[0]) : String(parsed.data);
    const at = locate(pages, first);
    // Identifiers, names and places must be written in the document; numbers and dates need not be verbatim.
    if ((TEXT_BOUND.has(name) || name === 'containerNumbers' || name === 'sealNumbers') && !at) continue;
    const field: DocumentField = {
      value: parsed.data as DocumentField['value'],
      page: at?.page ?? null,
      source: at?.source ?? null,
      confidence: 0.8,
      origin: 'llm',
    };
    if ((name === 'portOfLoading' || name === 'portOfDischarge') && current?.code) field.code = current.code;
    fields[name] = field;
  }
  return { type: output.type as Reading['type'], typeConfidence: 0.85, fields };
}
