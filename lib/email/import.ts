// Importing a forwarder's mail history: each archived message goes through parse and ingest exactly
// like a polled one, in input order, in its own transaction.
import { createHash } from 'node:crypto';
import { storeRawSource } from '../attachments/service.js';
import { analyzeMessage } from '../ai/analysis/index.js';
import { asSystem, type QueuedJob } from '../context.js';
import { db } from '../db/client.js';
import { migrate } from '../db/migrate.js';
import type { FreightIdentifiers } from '../logistics/identifiers.js';
import { readArchive } from './archive.js';
import { ingestEmail } from './ingest.js';
import { runJob } from '../jobs/run.js';
import { EmailParseError, parseEmail, type ParsedEmail } from './parse.js';

export interface ImportResult {
  file: string;
  /** The message's Message-ID as written in its header (with angle brackets), or null. */
  messageId: string | null;
  threadId: string | null;
  direction: 'inbound' | 'outbound' | null;
  references: FreightIdentifiers;
  outcome: 'stored' | 'duplicate' | 'quarantined';
  /** Inbound messages only: what the configured analyser made of it. */
  intent?: string | null;
  sentiment?: string | null;
  error?: string;
}

const none = (): FreightIdentifiers => ({ containers: [], awbs: [], bls: [], bookings: [] });

async function resolveOrg(orgId: string | undefined, fresh: boolean, address: string | undefined): Promise<string> {
  const sql = await db();
  if (fresh) {
    const [org] = await sql<{ id: string }[]>`
      insert into app.organizations (name, slug) values ('Imported archive', ${`import-${Date.now()}`}) returning id`;
    const domain = address?.split('@')[1];
    if (domain) await sql`insert into app.organization_domains (org_id, domain) values (${org!.id}, ${domain}) on conflict do nothing`;
    return org!.id;
  }
  if (orgId) {
    const [org] = await sql`select id from app.organizations where id = ${orgId}`;
    if (!org) throw new Error(`No organization ${orgId}`);
    return orgId;
  }
  const orgs = await sql<{ id: string }[]>`select id from app.organizations order by created_at limit 2`;
  if (orgs.length !== 1) throw new Error('Name the organization to import into with --org <id> (or use --memory)');
  return orgs[0]!.id;
}

/** The stored analysis, or (for auto-replies and bounces, which the job skips) the analyser's reading. */
async function analysisOf(orgId: string, messageId: string, parsed: ParsedEmail): Promise<{ intent: string | null; sentiment: string | null }> {
  const sql = await db();
  const [row] = await sql<{ intent: string | null; sentiment: string | null }[]>`
    select intent, sentiment from app.messages where id = ${messageId} and org_id = ${orgId}`;
  if (row?.intent) return { intent: row.intent, sentiment: row.sentiment };
  const { result } = await analyzeMessage({
    subject: parsed.subject,
    body: parsed.text,
    newText: parsed.newText,
    date: parsed.date ?? new Date(),
    from: parsed.from?.address ?? null,
  });
  return { intent: result.intent, sentiment: result.sentiment };
}

export async function importArchive(options: {
  dir?: string;
  mbox?: string;
  address?: string;
  orgId?: string;
  fresh?: boolean;
  onProgress?: (line: string) => void;
}): Promise<ImportResult[]> {
  await migrate(await db());
  const orgId = await resolveOrg(options.orgId, options.fresh ?? false, options.address);
  const results: ImportResult[] = [];
  for (const { file, raw } of readArchive(options)) {
    let parsed;
    try {
      parsed = await parseEmail(raw);
    } catch (error) {
      if (!(error instanceof EmailParseError)) throw error;
      results.push({ file, messageId: null, threadId: null, direction: null, references: none(), outcome: 'quarantined', error: error.message });
      continue;
    }
    // The raw source is kept (content-addressed) so the message can be reprocessed later.
    const rawStoragePath = await storeRawSource(orgId, createHash('sha256').update(raw).digest('hex'), raw);
    const jobs: QueuedJob[] = [];
    const outcome = await asSystem(orgId, `import:${file}`, jobs, (ctx) =>
      ingestEmail(ctx, parsed, { channelId: null, address: options.address ?? null, rawStoragePath }),
    );
    // Run what ingest queued (the analysis) now, in order, as the job system would.
    for (const job of jobs) await runJob(job.id);
    const result: ImportResult = {
      file,
      messageId: parsed.messageId ? `<${parsed.messageId}>` : null,
      threadId: outcome.threadId,
      direction: outcome.direction,
      references: outcome.identifiers,
      outcome: outcome.outcome,
    };
    if (outcome.direction === 'inbound') Object.assign(result, await analysisOf(orgId, outcome.messageId, parsed));
    results.push(result);
    if (results.length % 100 === 0) options.onProgress?.(`${results.length} messages imported`);
  }
  return results;
}
