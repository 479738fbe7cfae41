// The ledger of provider calls for outbound messages (app.send_attempts): a send job records an attempt
// and commits it before it calls the provider, then records the answer. A run that finds an attempt
// without an answer knows an earlier run may have sent the message, and reconciles before sending.
import type { Ctx } from '../context.js';

export type AttemptState = 'calling' | 'accepted' | 'refused' | 'failed' | 'unreached' | 'abandoned';

export interface SendAttempt {
  id: string;
  provider: 'resend' | 'exotel' | 'local';
  idempotencyKey: string;
  state: AttemptState;
  providerMessageId: string | null;
  error: string | null;
  startedAt: Date;
}

/** Answers that tell for certain the message did not go out under that attempt's key. */
export const NOTHING_SENT: readonly AttemptState[] = ['refused', 'unreached'];

/** The latest attempt to send this message, and how many there were (in the caller's transaction). */
export async function latestAttempt(ctx: Ctx, messageId: string): Promise<(SendAttempt & { count: number }) | null> {
  const [row] = await ctx.sql<(SendAttempt & { count: number })[]>`
    select id, provider, idempotency_key, state, provider_message_id, error, started_at,
      count(*) over ()::int as count
    from app.send_attempts where org_id = ${ctx.orgId} and message_id = ${messageId}
    order by started_at desc, id desc limit 1`;
  return row ?? null;
}

/** Records an attempt about to call the provider; the caller commits it before the call. */
export async function beginAttempt(ctx: Ctx, a: { messageId: string; provider: SendAttempt['provider']; idempotencyKey: string }): Promise<string> {
  const [row] = await ctx.sql<{ id: string }[]>`
    insert into app.send_attempts (org_id, message_id, provider, idempotency_key)
    values (${ctx.orgId}, ${a.messageId}, ${a.provider}, ${a.idempotencyKey}) returning id`;
  return row!.id;
}

/** Records the provider's answer (or that no connection was made) for an attempt still open. */
export async function settleAttempt(
  ctx: Ctx,
  attemptId: string,
  answer: { state: Exclude<AttemptState, 'calling'>; providerMessageId?: string | null; error?: string | null },
): Promise<void> {
  await ctx.sql`
    update app.send_attempts set state = ${answer.state}, provider_message_id = coalesce(${answer.providerMessageId ?? null}, provider_message_id),
      error = ${answer.error?.slice(0, 1000) ?? null}, finished_at = now()
    where id = ${attemptId} and org_id = ${ctx.orgId} and state in ('calling', 'abandoned')`;
}

/**
 * A person retries a send whose outcome was never learnt: the open attempts are marked abandoned, so
 * the next run sends instead of waiting for a report on them. Returns how many there were.
 */
export async function abandonOpenAttempts(ctx: Ctx, messageId: string): Promise<number> {
  const rows = await ctx.sql`
    update app.send_attempts set state = 'abandoned', finished_at = now(), error = 'abandoned: a person retried the send'
    where org_id = ${ctx.orgId} and message_id = ${messageId} and state = 'calling' returning id`;
  return rows.length;
}
