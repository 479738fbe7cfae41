// The `document.read` job: fetch the file from storage, extract its text per page (OCR for scans and
// images), read type and fields by rules, improve them with the model when one is configured, and
// store the reading (which files the document to its shipment). Registered only where document jobs
// run: api/jobs/documents/[name].ts, and the local dispatcher. Self-committing, so no transaction
// stays open while OCR runs (a page takes seconds).
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { log } from '../log.js';
import { storage } from '../storage/index.js';
import { extractText, UnreadableDocumentError } from './extract.js';
import { readByRules, type Reading } from './rules.js';
import { applyReading, markUnreadable } from './service.js';

/** Reads a file's bytes: type and fields by rules, then by the model when configured. */
export async function readDocumentBytes(bytes: Uint8Array, contentType: string, reference: Date) {
  const extraction = await extractText(bytes, contentType);
  let reading: Reading = readByRules(extraction.pages, reference);
  let typeSource: 'rules' | 'llm' = 'rules';
  let extractedBy = 'rules';
  const llm = (await import('../ai/provider.js')).configuredModel();
  if (llm && extraction.pages.some((p) => p.text.trim())) {
    try {
      const { improveWithLlm } = await import('./llm.js');
      reading = await improveWithLlm(extraction.pages, reading, llm);
      typeSource = 'llm';
      extractedBy = `llm:${llm.modelId}`;
    } catch (error) {
      log.warn('document model reading failed; the offline reading stands', { error });
    }
  }
  return { extraction, reading, typeSource, extractedBy };
}

export const documentRead = defineJob({
  ...jobSpecs.documentRead,
  async perform({ transact, payload }) {
    const doc = await transact(async (ctx) => {
      const [row] = await ctx.sql<{ storagePath: string | null; contentType: string | null; createdAt: Date }[]>`
        select coalesce(a.storage_path, d.storage_path) as storage_path, a.content_type, d.created_at
        from app.documents d left join app.attachments a on a.id = d.attachment_id and a.org_id = d.org_id
        where d.id = ${payload.documentId} and d.org_id = ${ctx.orgId}`;
      return row;
    });
    if (!doc) return; // deleted meanwhile
    if (!doc.storagePath) {
      await transact((ctx) => markUnreadable(ctx, payload.documentId, 'the document has no stored file'));
      return;
    }
    const bytes = await storage().getObject(doc.storagePath);
    let result;
    try {
      result = await readDocumentBytes(bytes, doc.contentType ?? 'application/octet-stream', doc.createdAt);
    } catch (error) {
      if (error instanceof UnreadableDocumentError) {
        await transact((ctx) => markUnreadable(ctx, payload.documentId, error.message));
        return;
      }
      throw error;
    }
    const { extraction, reading, typeSource, extractedBy } = result;
    await transact((ctx) =>
      applyReading(ctx, payload.documentId, {
        pages: extraction.pages,
        method: extraction.method,
        type: reading.type,
        typeConfidence: reading.typeConfidence,
        typeSource,
        fields: reading.fields,
        extractedBy,
      }),
    );
  },
  async onDead({ ctx, payload, error }) {
    await markUnreadable(ctx, payload.documentId, error);
  },
});
