// The `message.analyze` job: analyses one inbound message (intent, sentiment, urgency, summary, language,
// entities), stores the result on the message, rolls it up to the thread (latest intent; worst sentiment
// and highest urgency of the thread's inbound messages of the last 7 days) and announces both.
import { defineJob, type Transact } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { recordChange, topics } from '../realtime.js';
import { rollUpAnalysis } from '../threads/roll-up.js';
import { announceThread } from '../threads/view.js';
import { messageEvent } from '../workflows/emit.js';
import { analyzeMessage } from './analysis/index.js';

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
  // The model is called between two short transactions, never inside one: a connection is not held for
  // up to AI_TIMEOUT_MS while a provider thinks. Its end lets workflows hear of the message
  // (message.received waits for the analysis its conditions may use), and so does its death.
  async perform({ transact, payload }) {
    await analyse(transact, payload.messageId);
    await transact((ctx) => messageEvent(ctx, payload.messageId, 'analysed'));
  },
  async onDead({ ctx, payload }) {
    await messageEvent(ctx, payload.messageId, 'analysed');
  },
});

async function analyse(transact: Transact, messageId: string): Promise<void> {
  const message = await transact(async (ctx) => {
    const [row] = await ctx.sql<MessageRow[]>`
        select id, thread_id, direction, kind, is_auto_reply, is_bounce, subject, body_text, body_new_text, transcript,
          from_address, occurred_at
        from app.messages where id = ${messageId} and org_id = ${ctx.orgId}`;
    return row;
  });
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

  await transact(async (ctx) => {
    const sql = ctx.sql;
    // The thread it is on now (a person may have moved it meanwhile); gone since, nothing to store.
    const [stored] = await sql<{ analyzedAt: Date; threadId: string }[]>`
        update app.messages set intent = ${result.intent}, sentiment = ${result.sentiment}, sentiment_score = ${result.sentimentScore},
          urgency = ${result.urgency}, summary = ${result.summary}, language = ${result.language},
          entities = ${sql.json(result.entities as never)}, analyzed_at = now(),
          metadata = metadata || ${sql.json({ analysis: { source, model: model ?? null } } as never)}
        where id = ${message.id} and org_id = ${ctx.orgId}
        returning analyzed_at, thread_id`;
    if (!stored) return;
    await recordChange(ctx, {
      event: 'message.analyzed',
      topics: [topics.thread(ctx.orgId, stored.threadId)],
      data: { id: message.id, threadId: stored.threadId, ...result, source, analyzedAt: stored.analyzedAt },
      audit: {
        action: 'message.analyzed',
        entityType: 'message',
        entityId: message.id,
        data: { intent: result.intent, sentiment: result.sentiment, urgency: result.urgency, source },
      },
    });
    if (await rollUpAnalysis(ctx, stored.threadId)) await announceThread(ctx, 'thread.updated', stored.threadId);
  });
}
