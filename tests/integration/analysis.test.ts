import { randomUUID } from 'node:crypto';
import { streamText } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { analyzeMessage, analyzeOffline, INTENTS } from '../../lib/ai/analysis/index.js';
import { enqueueAnalysis } from '../../lib/jobs/specs.js';
import { createChatModel } from '../../lib/ai/provider.js';
import { parseConfig, setConfig } from '../../lib/config.js';
import type { Ctx } from '../../lib/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { extractIdentifiersFromMessage } from '../../lib/logistics/identifiers.js';
import { json } from '../helpers/api.js';
import { engine, testDatabase, type TestDatabase } from '../helpers/database.js';
import { fakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let openai: FakeOpenAI;

beforeAll(async () => {
  db = await testDatabase();
  openai = await fakeOpenAI();
});
afterAll(async () => {
  setConfig(parseConfig(process.env));
  await openai.close();
  await db.close();
});
afterEach(() => {
  setConfig(parseConfig(process.env));
  openai.reset();
});

const EMAIL = {
  subject: 'RE: Booking 2x40HC Nhava Sheva - Hamburg, FOB',
  body:
    'Dear Team,\n\nRates are fine. Please go ahead and book 2x40HC on the first Maersk sailing after 14.12, FOB Nhava Sheva, HS code 8708.30.\n' +
    'Containers MSKU 624076 6 to be picked up from Speedy CFS.\n\nRegards,\nKarthik\n\n' +
    'On Mon, 30 Nov 2026 at 10:15, Ops <ops@seahawk-logistics.in> wrote:\n> Please find our offer, USD 1,450 per box.',
  date: new Date('2026-12-01T09:00:00Z'),
  from: 'karthik@tatatextiles.example',
};

const llmAnswer = {
  intent: 'booking_request',
  sentiment: 'neutral',
  sentimentScore: 0.05,
  urgency: 'normal',
  summary: 'Customer accepts the rate and asks to book 2x40HC Nhava Sheva to Hamburg, FOB, first Maersk sailing after 14 Dec.',
  language: 'en',
  ports: ['INNSA', 'DEHAM'],
  incoterms: ['FOB'],
  hsCodes: ['870830', '99999999'],
};

function modelFor(timeoutMs = 5000) {
  return {
    model: createChatModel({ apiKey: 'sk-test-key', baseUrl: openai.baseUrl, model: 'gpt-4o-mini-test' }),
    timeoutMs,
    modelId: 'gpt-4o-mini-test',
    maxRetries: 0,
  };
}

describe('the LLM analyser against an OpenAI-compatible server', () => {
  it('sends a chat completion with the email and a JSON schema, and merges the answer with validated entities', async () => {
    // The model tries to smuggle in identifiers: they are not part of its schema and never reach the result.
    openai.reply({ json: { ...llmAnswer, containers: ['ABCU1234567'], bookings: ['HALLUCINATED1'] } });
    const outcome = await analyzeMessage(EMAIL, { model: modelFor() });

    expect(openai.requests).toHaveLength(1);
    const request = openai.requests[0]!;
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe('Bearer sk-test-key');
    expect(request.body.model).toBe('gpt-4o-mini-test');
    expect(request.body.stream).toBeFalsy();
    const [system, user] = request.body.messages;
    expect(system?.role).toBe('system');
    expect(user?.role).toBe('user');
    expect(JSON.stringify(user?.content)).toContain('Please go ahead and book 2x40HC');
    expect(JSON.stringify(user?.content)).toContain('Booking 2x40HC Nhava Sheva - Hamburg');
    const format = request.body.response_format!;
    expect(format.type).toBe('json_schema');
    const schema = format.json_schema!.schema;
    expect(schema.properties.intent.enum).toEqual([...INTENTS]);
    expect(schema.required).toEqual(expect.arrayContaining(['intent', 'sentiment', 'sentimentScore', 'urgency', 'summary', 'language']));
    expect(Object.keys(schema.properties)).not.toContain('containers');

    expect(outcome.source).toBe('llm');
    expect(outcome.model).toBe('gpt-4o-mini-test');
    const r = outcome.result;
    expect(r).toMatchObject({
      intent: 'booking_request',
      sentiment: 'neutral',
      sentimentScore: 0.05,
      urgency: 'normal',
      language: 'en',
      summary: llmAnswer.summary,
    });
    const ids = extractIdentifiersFromMessage({ subject: EMAIL.subject, body: EMAIL.body });
    expect({ containers: r.entities.containers, awbs: r.entities.awbs, bls: r.entities.bls, bookings: r.entities.bookings }).toEqual(ids);
    expect(r.entities.containers).toEqual(['MSKU6240766']);
    expect(r.entities.ports).toEqual(expect.arrayContaining(['INNSA', 'DEHAM']));
    expect(r.entities.incoterms).toEqual(['FOB']);
    // An HS code the email does not contain is dropped.
    expect(r.entities.hsCodes).toEqual(['870830']);
    expect(r.entities.dates).toEqual(['2026-12-14']);
  });

  it('keeps the offline result when the server answers HTTP 500', async () => {
    openai.reply({ status: 500, message: 'upstream overloaded' });
    const outcome = await analyzeMessage(EMAIL, { model: modelFor() });
    expect(outcome.source).toBe('offline');
    expect(outcome.fallbackReason).toMatch(/overloaded|500/);
    expect(outcome.result).toEqual(analyzeOffline(EMAIL));
  });

  it('keeps the offline result when the server does not answer in time', async () => {
    openai.reply({ hang: true });
    // The server never answers: only the 300 ms timeout ends the call (a missing one fails the test by its own timeout).
    const outcome = await analyzeMessage(EMAIL, { model: modelFor(300) });
    expect(outcome.source).toBe('offline');
    expect(outcome.fallbackReason).toMatch(/timeout|timed out|abort/i);
    expect(outcome.result).toEqual(analyzeOffline(EMAIL));
  });

  it('keeps the offline result when the answer does not match the schema', async () => {
    openai.reply({ json: { ...llmAnswer, intent: 'rate_request' } });
    const invalidLabel = await analyzeMessage(EMAIL, { model: modelFor() });
    expect(invalidLabel.source).toBe('offline');
    openai.reply({ content: 'Sure! The intent is booking_request.' });
    const notJson = await analyzeMessage(EMAIL, { model: modelFor() });
    expect(notJson.source).toBe('offline');
    const { summary: _summary, ...incomplete } = llmAnswer;
    openai.reply({ json: incomplete });
    const missingField = await analyzeMessage(EMAIL, { model: modelFor() });
    expect(missingField.source).toBe('offline');
    expect(missingField.result).toEqual(analyzeOffline(EMAIL));
  });

  it('uses the model from configuration (OPENAI_API_KEY, OPENAI_BASE_URL, AI_MODEL)', async () => {
    setConfig(
      parseConfig({ ...process.env, OPENAI_API_KEY: 'sk-config', OPENAI_BASE_URL: openai.baseUrl, AI_MODEL: 'configured-model', AI_TIMEOUT_MS: '5000' }),
    );
    openai.reply({ json: llmAnswer });
    const outcome = await analyzeMessage(EMAIL);
    expect(outcome).toMatchObject({ source: 'llm', model: 'configured-model' });
    expect(openai.requests[0]!.body.model).toBe('configured-model');
    expect(openai.requests[0]!.headers.authorization).toBe('Bearer sk-config');
  });

  it('is offline without OPENAI_API_KEY', async () => {
    const outcome = await analyzeMessage(EMAIL);
    expect(outcome.source).toBe('offline');
    expect(openai.requests).toHaveLength(0);
  });

  it('streams server-sent events for streaming clients', async () => {
    openai.reply({ content: 'Dear Karthik, the booking is confirmed on MAERSK KENSINGTON.' });
    const result = streamText({ model: modelFor().model, prompt: 'Draft a reply' });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Dear Karthik, the booking is confirmed on MAERSK KENSINGTON.');
    expect(openai.requests[0]!.body.stream).toBe(true);
  });
});

describe('the message.analyze job', () => {
  async function insertMessage(
    threadId: string,
    id: string,
    fields: { direction: 'inbound' | 'outbound'; minutesAgo: number; subject: string; body: string; isAutoReply?: boolean },
  ) {
    await db.sql`
      insert into app.messages (id, org_id, thread_id, channel, direction, status, from_address, subject, body_text, body_new_text, is_auto_reply, occurred_at)
      values (${id}, ${SEED_ORG_ID}, ${threadId}, 'email', ${fields.direction}, ${fields.direction === 'inbound' ? 'received' : 'sent'},
        ${fields.direction === 'inbound' ? 'naveen@vijayaelectricals.example' : 'ops@seahawk-logistics.in'}, ${fields.subject}, ${fields.body}, null,
        ${fields.isAutoReply ?? false}, now() - make_interval(mins => ${fields.minutesAgo}))`;
  }

  async function enqueue(messageId: string) {
    await withClaims(systemClaims(SEED_ORG_ID), async (sql) => {
      const ctx: Ctx = { requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] };
      await enqueueAnalysis(ctx, messageId);
      // Enqueuing the same message again queues it once.
      await enqueueAnalysis(ctx, messageId);
    });
  }

  /**
   * A thread of the calling test's own: an angry chase three days ago, our answer, a thankful reply
   * and an auto-reply. Each test gets its own, since what the thread rolls up depends on every message
   * on it (another test's newer message would change its intent).
   */
  async function conversation() {
    const threadId = randomUUID();
    const ids = { older: randomUUID(), latest: randomUUID(), outbound: randomUUID(), autoReply: randomUUID() };
    await db.sql`
      insert into app.threads (id, org_id, subject, normalized_subject, channel, counterpart, last_activity_at)
      values (${threadId}, ${SEED_ORG_ID}, 'DO for BEAU1799310', 'do for beau1799310', 'email', 'naveen@vijayaelectricals.example', now())`;
    await insertMessage(threadId, ids.older, {
      direction: 'inbound',
      minutesAgo: 3 * 24 * 60,
      subject: 'DO still not received!!',
      body: 'For the last time, where is the delivery order for container BEAU1799310? Our truck is waiting at the CFS and we are paying ground rent because of this delay. Unacceptable.\n\nNaveen',
    });
    await insertMessage(threadId, ids.outbound, { direction: 'outbound', minutesAgo: 60, subject: 'RE: DO', body: 'Dear Naveen, the DO is attached. Regards' });
    await insertMessage(threadId, ids.latest, {
      direction: 'inbound',
      minutesAgo: 30,
      subject: 'RE: DO still not received!!',
      body: 'Received the DO, many thanks for the quick help. Please send the invoice for the local charges so we can pay.\n\nNaveen',
    });
    await insertMessage(threadId, ids.autoReply, {
      direction: 'inbound',
      minutesAgo: 10,
      subject: 'Automatic reply: DO',
      body: 'I am out of the office.',
      isAutoReply: true,
    });
    return { threadId, ids };
  }

  it('stores the analysis on the message, rolls it up to the thread and announces both', async () => {
    const { threadId, ids } = await conversation();
    const since = await broadcastsSince(db.sql);
    await enqueue(ids.older);
    await enqueue(ids.latest);
    const outbox =
      await db.sql`select count(*)::int as n from app.outbox where name = 'message.analyze' and status = 'pending' and payload->>'messageId' in ${db.sql([ids.older, ids.latest])}`;
    expect(outbox[0]!.n).toBe(2);
    const outcomes = await drainJobs();
    expect(outcomes.filter((o) => o === 'done')).toHaveLength(2);

    const page = await json('GET', `/api/threads/${threadId}/messages?order=asc`, { as: 'viewer' });
    expect(page.status).toBe(200);
    const byId = new Map<string, any>(page.body.data.map((m: any) => [m.id, m]));
    const older = byId.get(ids.older);
    expect(older).toMatchObject({ intent: 'document_request', sentiment: 'negative', language: 'en' });
    expect(['high', 'critical']).toContain(older.urgency);
    expect(older.sentimentScore).toBeLessThan(0);
    expect(older.summary).toContain('DO still not received');
    expect(older.entities.containers).toEqual(['BEAU1799310']);
    const latest = byId.get(ids.latest);
    expect(latest).toMatchObject({ intent: 'invoice_payment', sentiment: 'positive' });
    expect(byId.get(ids.outbound).intent).toBeNull();

    const rows = await db.sql`select id, analyzed_at, metadata from app.messages where thread_id = ${threadId}`;
    const analyzed = new Map(rows.map((r) => [r.id as string, r]));
    expect(analyzed.get(ids.older)!.analyzedAt).toBeInstanceOf(Date);
    expect(analyzed.get(ids.latest)!.metadata).toMatchObject({ analysis: { source: 'offline', model: null } });
    expect(analyzed.get(ids.outbound)!.analyzedAt).toBeNull();

    // Latest intent; worst sentiment and highest urgency of the last 7 days' inbound messages.
    const thread = await json('GET', `/api/threads/${threadId}`, { as: 'viewer' });
    expect(thread.status).toBe(200);
    expect(thread.body).toMatchObject({ intent: 'invoice_payment', sentiment: 'negative', urgency: older.urgency });
    expect(thread.body.sentimentScore).toBeCloseTo(older.sentimentScore, 5);

    const events = await since();
    const analysedEvents = events.filter((e) => e.event === 'message.analyzed');
    expect(analysedEvents.map((e) => e.topic)).toEqual([`org:${SEED_ORG_ID}:thread:${threadId}`, `org:${SEED_ORG_ID}:thread:${threadId}`]);
    expect(analysedEvents.map((e) => e.payload.data.id).sort()).toEqual([ids.older, ids.latest].sort());
    expect(analysedEvents[0]!.payload).toMatchObject({ event: 'message.analyzed', orgId: SEED_ORG_ID, actorId: null });
    const threadEvents = events.filter((e) => e.event === 'thread.updated');
    expect(threadEvents.map((e) => e.topic).sort()).toEqual(
      [`org:${SEED_ORG_ID}`, `org:${SEED_ORG_ID}`, `org:${SEED_ORG_ID}:thread:${threadId}`, `org:${SEED_ORG_ID}:thread:${threadId}`].sort(),
    );
    expect(threadEvents.at(-1)!.payload.data).toMatchObject({ id: threadId, intent: 'invoice_payment', sentiment: 'negative' });

    const audit = await db.sql`select action from app.audit_log where entity_id = ${ids.older}`;
    expect(audit.map((a) => a.action)).toContain('message.analyzed');
  });

  it('skips outbound and automated messages', async () => {
    const { ids } = await conversation();
    const since = await broadcastsSince(db.sql);
    await enqueue(ids.outbound);
    await enqueue(ids.autoReply);
    expect(await drainJobs()).toEqual(['done', 'done']);
    const rows = await db.sql`select analyzed_at from app.messages where id in ${db.sql([ids.outbound, ids.autoReply])}`;
    expect(rows.map((r) => r.analyzedAt)).toEqual([null, null]);
    expect(await since()).toEqual([]);
  });

  // On PostgreSQL, where a held transaction shows in pg_stat_activity (production runs there).
  it.skipIf(engine !== 'postgres')('holds no transaction while the model thinks', async () => {
    setConfig(parseConfig({ ...process.env, OPENAI_API_KEY: 'sk-job', OPENAI_BASE_URL: openai.baseUrl, AI_MODEL: 'job-model', AI_TIMEOUT_MS: '5000' }));
    openai.reply({ json: llmAnswer, delayMs: 1500 });
    const { threadId } = await conversation();
    const messageId = randomUUID();
    await insertMessage(threadId, messageId, { direction: 'inbound', minutesAgo: 5, subject: 'ETA?', body: 'When does MSKU1234565 arrive?' });
    await withClaims(systemClaims(SEED_ORG_ID), (sql) =>
      enqueueAnalysis({ requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] }, messageId),
    );
    let finished = false;
    const run = drainJobs().then((outcomes) => {
      finished = true;
      return outcomes;
    });
    await vi.waitFor(() => expect(openai.requests).toHaveLength(1), { timeout: 5000, interval: 10 });
    // The model is answering now, and no connection sits in a transaction waiting for it.
    const [held] = await db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`;
    expect(held!.n).toBe(0);
    expect(finished).toBe(false);
    expect(await run).toEqual(['done']);
    const [row] = await db.sql`select analyzed_at from app.messages where id = ${messageId}`;
    expect(row!.analyzedAt).not.toBeNull();
  });

  it('uses the configured model inside the job and records which analyser answered', async () => {
    setConfig(parseConfig({ ...process.env, OPENAI_API_KEY: 'sk-job', OPENAI_BASE_URL: openai.baseUrl, AI_MODEL: 'job-model', AI_TIMEOUT_MS: '5000' }));
    openai.reply({
      json: {
        ...llmAnswer,
        intent: 'document_request',
        sentiment: 'negative',
        sentimentScore: -0.9,
        urgency: 'critical',
        summary: 'Angry chase for the DO of BEAU1799310.',
      },
    });
    // Its own thread with the inbound chase and the reply to it; this one message is the latest inbound.
    const { threadId } = await conversation();
    const messageId = randomUUID();
    await insertMessage(threadId, messageId, {
      direction: 'inbound',
      minutesAgo: 5,
      subject: 'DO?',
      body: 'Where is the DO for BEAU1799310? Truck waiting since morning.',
    });
    await withClaims(systemClaims(SEED_ORG_ID), (sql) =>
      enqueueAnalysis({ requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] }, messageId),
    );
    expect(await drainJobs()).toEqual(['done']);
    expect(openai.requests).toHaveLength(1);
    const [row] = await db.sql`select intent, sentiment, urgency, summary, entities, metadata from app.messages where id = ${messageId}`;
    expect(row).toMatchObject({ intent: 'document_request', sentiment: 'negative', urgency: 'critical', summary: 'Angry chase for the DO of BEAU1799310.' });
    expect(row!.entities.containers).toEqual(['BEAU1799310']);
    expect(row!.metadata).toMatchObject({ analysis: { source: 'llm', model: 'job-model' } });
    const [thread] = await db.sql`select intent, urgency from app.threads where id = ${threadId}`;
    expect(thread).toMatchObject({ intent: 'document_request', urgency: 'critical' });
  });
});
