// The `message.analyze` job: analyses one inbound message (intent, sentiment, urgency, summary, language,
// entities), stores the result on the message, rolls it up to the thread (latest intent; worst sentiment
// and highest urgency of the thread's inbound messages of the last 7 days) and announces both.
import type { Ctx } from '../context.js';
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { recordChange, topics } from '../realtime.js';
import { announceThread } from '../threads/view.js';
import { analyzeMessage } from './analysis/index.js';

/** The thread's sentiment and urgency look at inbound messages this recent. */
const ROLLUP_DAYS = 7;

interface MessageRow {
  id: string;
  threadId: string;
  direction: 'inbound' | 'outbound';
  kind: string;
  isAutoReply: boolean;
  isBounce: boolean;
  subject: string | null;
  bodyText: string | null;
  bodyNewText: string | null;
  transcript: string | null;
  fromAddress: string | null;
  occurredAt: Date;
}

export const analyzeMessageJob = defineJob({
  ...jobSpecs.messageAnalyze,
  async handle({ ctx, payload }) {
    const sql = ctx.sql;
    const [message] = await sql<MessageRow[]>`
      select id, thread_id, direction, kind, is_auto_reply, is_bounce, subject, body_text, body_new_text, transcript,
        from_address, occurred_at
      from app.messages where id = ${payload.messageId} and org_id = ${ctx.orgId}`;
    // Deleted since, sent by us, or machine-made (auto-replies, bounces): nothing to analyse.
    if (!message || message.direction !== 'inbound' || message.isAutoReply || message.isBounce) return;
    const body = (message.kind === 'call' ? message.transcript : null) ?? message.bodyText ?? ''; // a call's body is only 'Incoming call'
    if (!body.trim() && !message.subject?.trim()) return;

    const { result, source, model } = await analyzeMessage({
      subject: message.subject,
      body,
      newText: message.bodyNewText,
      date: message.occurredAt,
      from: message.fromAddress,
    });

    const [stored] = await sql<{ analyzedAt: Date }[]>`
      update app.messages set intent = ${result.intent}, sentiment = ${result.sentiment}, sentiment_score = ${result.sentimentScore},
        urgency = ${result.urgency}, summary = ${result.summary}, language = ${result.language},
        entities = ${sql.json(result.entities as never)}, analyzed_at = now(),
        metadata = metadata || ${sql.json({ analysis: { source, model: model ?? null } } as never)}
      where id = ${message.id}
      returning analyzed_at`;
    await recordChange(ctx, {
      event: 'message.analyzed',
      topics: [topics.thread(ctx.orgId, message.threadId)],
      data: { id: message.id, threadId: message.threadId, ...result, source, analyzedAt: stored!.analyzedAt },
      audit: { action: 'message.analyzed', entityType: 'message', entityId: message.id, data: { intent: result.intent, sentiment: result.sentiment, urgency: result.urgency, source } },
    });

    if (await rollUpAnalysis(ctx, message.threadId)) await announceThread(ctx, 'thread.updated', message.threadId);
  },
});

/**
 * The thread's intent is its latest analysed inbound message's; its sentiment the worst, and its urgency
 * the highest, among analysed inbound messages of the last 7 days (the latest one alone when none is that
 * recent, e.g. after an archive import).
 */
async function rollUpAnalysis(ctx: Ctx, threadId: string): Promise<boolean> {
  const [thread] = await ctx.sql`
    with analysed as (
      select intent, sentiment, sentiment_score, urgency, occurred_at, arrival, id
      from app.messages
      where org_id = ${ctx.orgId} and thread_id = ${threadId} and direction = 'inbound' and analyzed_at is not null
        and not is_auto_reply and not is_bounce
    ),
    latest as (select * from analysed order by occurred_at desc, arrival desc limit 1),
    recent as (
      select * from analysed where occurred_at > now() - make_interval(days => ${ROLLUP_DAYS})
      union all
      select * from latest where not exists (select 1 from analysed where occurred_at > now() - make_interval(days => ${ROLLUP_DAYS}))
    ),
    worst as (
      select sentiment, sentiment_score from recent
      order by case sentiment when 'negative' then 0 when 'neutral' then 1 else 2 end, sentiment_score nulls last, occurred_at desc
      limit 1
    ),
    highest as (
      select urgency from recent
      order by case urgency when 'critical' then 0 when 'high' then 1 when 'normal' then 2 else 3 end, occurred_at desc
      limit 1
    )
    update app.threads t set
      intent = (select intent from latest),
      sentiment = (select sentiment from worst),
      sentiment_score = (select sentiment_score from worst),
      urgency = (select urgency from highest)
    where t.id = ${threadId} and t.org_id = ${ctx.orgId} and exists (select 1 from latest)
    returning t.id`;
  return thread !== undefined;
}

