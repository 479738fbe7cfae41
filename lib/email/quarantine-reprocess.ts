// POST /api/admin/mail-quarantine/{id}/reprocess: the stored raw source of a quarantined message goes
// through the poller's own parse and ingest again (after a fix, or once whatever failed has passed).
// Success stores the message (or finds it already stored) and resolves the row; a new failure keeps
// the row open with the new error. Kept apart from the listing so only this route loads the parser.
import type postgres from 'postgres';
import type { Ctx, QueuedJob } from '../context.js';
import type { Tx } from '../db/client.js';
import { AppError, conflict } from '../errors.js';
import { log } from '../log.js';
import { StorageError, storage } from '../storage/index.js';
import { ingestEmail, type IngestOutcome } from './ingest.js';
import { INGEST_PARSE_TIMEOUT_MS, parseEmail } from './parse.js';
import { announceQuarantine, assertOpen, loadQuarantined, quarantineView, type QuarantineRow } from './quarantine.js';

type Attempt = { ok: true; ingested: IngestOutcome } | { ok: false; error: string };

/** Parses and stores the raw source in a savepoint, so a failure rolls back only the attempt. */
async function attempt(ctx: Ctx, row: QuarantineRow, raw: Buffer): Promise<Attempt> {
  let parsed;
  try {
    parsed = await parseEmail(raw, { timeoutMs: INGEST_PARSE_TIMEOUT_MS });
  } catch (error) {
    return { ok: false, error: `The message cannot be read: ${(error as Error).message}` };
  }
  const [channel] = row.channelId
    ? await ctx.sql<{ address: string }[]>`select address from app.channels where id = ${row.channelId} and org_id = ${ctx.orgId}`
    : [];
  const mailbox = {
    channelId: row.channelId,
    address: channel?.address ?? null,
    folder: row.folder ?? undefined,
    uid: row.uid === null ? undefined : Number(row.uid),
    rawStoragePath: row.rawStoragePath,
  };
  // Jobs are queued only if the attempt commits with the request.
  const jobs: QueuedJob[] = [];
  try {
    const ingested = await (ctx.sql as postgres.TransactionSql<Record<string, unknown>>).savepoint((sp) =>
      ingestEmail({ ...ctx, sql: sp as unknown as Tx, jobs }, parsed, mailbox),
    );
    ctx.jobs.push(...jobs);
    return { ok: true, ingested };
  } catch (error) {
    // Storage or the database being away is not the message's fault: answer 503 and change nothing.
    if (error instanceof AppError && error.code === 'unavailable') throw error;
    log.warn('quarantined message failed again', { requestId: ctx.requestId, id: row.id, error });
    return { ok: false, error: `Storing the message failed: ${(error as Error).message}` };
  }
}

export async function reprocessQuarantined(ctx: Ctx, id: string) {
  const row = await loadQuarantined(ctx, id, { lock: true });
  assertOpen(row);
  if (!row.rawStoragePath) {
    throw conflict('Nothing to reprocess: the message was never downloaded (it was larger than EMAIL_MAX_MESSAGE_BYTES); discard it');
  }
  let result: Attempt;
  try {
    result = await attempt(ctx, row, await storage().getObject(row.rawStoragePath));
  } catch (error) {
    if (!(error instanceof StorageError && error.kind === 'not_found')) throw error;
    result = { ok: false, error: 'The raw source is no longer in storage' };
  }

  await ctx.sql`
    update app.mail_quarantine set attempts = attempts + 1, last_attempt_at = now(),
      ${
        result.ok
          ? ctx.sql`resolved_at = now(), resolution = 'reprocessed', resolved_by = ${ctx.userId}, message_id = ${result.ingested.messageId}`
          : ctx.sql`error = ${result.error.slice(0, 2000)}`
      }
    where id = ${id} and org_id = ${ctx.orgId}`;
  const after = await announceQuarantine(ctx, id, 'updated', {
    action: result.ok ? 'mail_quarantine.reprocessed' : 'mail_quarantine.reprocess_failed',
    data: result.ok ? { outcome: result.ingested.outcome, messageId: result.ingested.messageId } : { error: result.error.slice(0, 2000) },
  });
  return result.ok
    ? { outcome: result.ingested.outcome, messageId: result.ingested.messageId, threadId: result.ingested.threadId, quarantine: quarantineView(after) }
    : { outcome: 'failed' as const, error: result.error, quarantine: quarantineView(after) };
}
