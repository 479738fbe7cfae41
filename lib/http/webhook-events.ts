// Inbound provider callbacks (Exotel, Resend, tracking) stored once per provider event before they are
// applied, in app.webhook_events: the one rule for a delivery that comes again. Done (processed or
// ignored) is a duplicate; stored moments ago and unfinished is still at work in another request (the
// provider is asked to retry later); failed, or stored long enough ago that its request must have died
// between storing and applying it, is applied now. Applying is idempotent for every provider, so the
// worst case of a slow first request is the same change made twice, never lost.
import { db } from '../db/client.js';
import { AppError } from '../errors.js';
import { now } from '../time.js';

/** How long a stored but unfinished delivery counts as still in progress (a twin then waits). */
export const IN_PROGRESS_MS = 120_000;

export interface WebhookEventRow {
  provider: 'exotel' | 'resend' | 'tracking';
  /** The provider's event id (or a key made of the event's content): unique per provider. */
  dedupeKey: string;
  kind: string;
  orgId?: string | null;
  channelId?: string | null;
  /** The headers worth keeping (never credentials). */
  headers: Record<string, string | null>;
  payload: unknown;
  rawBody?: string | null;
  rawBytes?: Buffer | null;
}

export interface StoredWebhookEvent {
  id: string;
  /** Whether this delivery stored it (false: an earlier delivery of the same event did). */
  fresh: boolean;
}

/**
 * Stores the event unless an earlier delivery did. A stored one that is done answers 'duplicate'; one
 * still at work elsewhere throws `unavailable` (a 503 with Retry-After: the provider retries later).
 */
export async function storeWebhookEvent(e: WebhookEventRow): Promise<StoredWebhookEvent | 'duplicate'> {
  const sql = await db();
  const [row] = await sql<{ id: string }[]>`
    insert into app.webhook_events (org_id, provider, kind, channel_id, dedupe_key, headers, payload, raw_body, raw_bytes)
    values (${e.orgId ?? null}, ${e.provider}, ${e.kind.slice(0, 100)}, ${e.channelId ?? null}, ${e.dedupeKey}, ${sql.json(e.headers as never)},
            ${e.payload === undefined ? null : sql.json(e.payload as never)}, ${e.rawBody ?? null}, ${e.rawBytes ?? null})
    on conflict (provider, dedupe_key) do nothing
    returning id`;
  if (row) return { id: row.id, fresh: true };
  const [existing] = await sql<{ id: string; status: string; receivedAt: Date }[]>`
    select id, status, received_at from app.webhook_events where provider = ${e.provider} and dedupe_key = ${e.dedupeKey}`;
  if (existing!.status === 'processed' || existing!.status === 'ignored') return 'duplicate';
  if (existing!.status === 'received' && now().getTime() - existing!.receivedAt.getTime() < IN_PROGRESS_MS) {
    throw new AppError('unavailable', 'This delivery is being processed; retry later', undefined, { 'retry-after': '30' });
  }
  return { id: existing!.id, fresh: false };
}

/** Records how applying the event went (a failed one is applied again when the provider retries). */
export async function finishWebhookEvent(
  id: string,
  status: 'processed' | 'ignored' | 'failed',
  { orgId = null, error = null }: { orgId?: string | null; error?: unknown } = {},
): Promise<void> {
  const sql = await db();
  const message = error === null ? null : (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  await sql`
    update app.webhook_events set status = ${status}, org_id = coalesce(org_id, ${orgId}::uuid), error = ${message}, processed_at = now()
    where id = ${id}`;
}
