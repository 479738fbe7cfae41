// AI reply drafts, summaries and suggested actions through the HTTP router: the UI message stream over
// SSE (format, saved draft, abort, error midway, template fallback), the prompt's context and its
// tenancy, the per-user draft budget, the OpenAI adapter against a local OpenAI-compatible server, and
// summaries and suggestions with the model and offline.
import { randomUUID } from 'node:crypto';
import { DefaultChatTransport, readUIMessageStream, simulateReadableStream, type UIMessage } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useModelForTests } from '../../lib/ai/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { ingestEmail } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS, type SeedUserKey } from '../../lib/dev/seed.js';
import { resetRateLimiter } from '../../lib/http/rate-limit.js';
import { actionCreate } from '../../lib/actions/service.js';
import { json, router, tokenFor } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { fakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let openai: FakeOpenAI;
const saved = config();

const T1 = '10000001-0000-4000-8000-000000000001';
const T3 = '10000003-0000-4000-8000-000000000003';
const T6 = '10000006-0000-4000-8000-000000000006';
const T9 = '10000009-0000-4000-8000-000000000009';
const FOREIGN_THREAD = '10000063-0000-4000-8000-000000000099';
/** Written all over the second organization: it must never reach a prompt or an answer of the first. */
const MARKER = 'NORTHSTAR-CONFIDENTIAL-7731';

beforeAll(async () => {
  db = await testDatabase();
  openai = await fakeOpenAI();
  // The second organization's data, made as tempting as possible: the same container number as T1's
  // shipment, a signature, a message, an open action and a milestone, all carrying the marker.
  await db.sql`update app.organizations set signature = ${`Grüße, ${MARKER}`} where id = ${SECOND_ORG_ID}`;
  const [ship] = await db.sql<{ id: string }[]>`
    insert into app.shipments (org_id, reference, mode, status, vessel, container_numbers)
    values (${SECOND_ORG_ID}, ${`${MARKER}-REF`}, 'sea_fcl', 'in_transit', ${`${MARKER} VESSEL`}, '{MSKU1234565}') returning id`;
  await db.sql`insert into app.shipment_milestones (org_id, shipment_id, code, location, actual_at) values (${SECOND_ORG_ID}, ${ship!.id}, 'departed', ${MARKER}, now())`;
  await db.sql`insert into app.thread_shipments (org_id, thread_id, shipment_id) values (${SECOND_ORG_ID}, ${FOREIGN_THREAD}, ${ship!.id})`;
  await db.sql`
    insert into app.messages (org_id, thread_id, channel, direction, status, from_address, subject, body_text, body_new_text, occurred_at)
    values (${SECOND_ORG_ID}, ${FOREIGN_THREAD}, 'email', 'inbound', 'received', 'export@bavariamachines.example', 'Machine parts',
            ${`Container MSKU1234565: ${MARKER} please confirm the booking`}, ${`Container MSKU1234565: ${MARKER} please confirm the booking`}, now())`;
  await db.sql`insert into app.actions (org_id, thread_id, shipment_id, title, type) values (${SECOND_ORG_ID}, ${FOREIGN_THREAD}, ${ship!.id}, ${`${MARKER} action`}, 'send_document')`;
});
afterAll(async () => {
  useModelForTests();
  setConfig(saved);
  resetRateLimiter();
  await openai.close();
  await db.close();
});
afterEach(() => {
  useModelForTests();
  setConfig(saved);
  resetRateLimiter();
  openai.reset();
});

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

const usage = {
  inputTokens: { total: 900, noCache: 900, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 40, text: 40, reasoning: undefined },
};
type StreamChunk = Record<string, unknown> & { type: string };

const finishChunk = (reason: 'stop' | 'length' = 'stop'): StreamChunk => ({ type: 'finish', finishReason: { unified: reason, raw: reason }, usage });

function textChunks(pieces: string[]): StreamChunk[] {
  return [
    { type: 'stream-start', warnings: [] },
    { type: 'text-start', id: 't1' },
    ...pieces.map((delta) => ({ type: 'text-delta', id: 't1', delta })),
    { type: 'text-end', id: 't1' },
    finishChunk(),
  ];
}

function streamingModel(chunks: StreamChunk[], chunkDelayInMs: number | null = null) {
  return new MockLanguageModelV3({
    modelId: 'mock-drafter',
    doStream: async () => ({ stream: simulateReadableStream({ chunks: chunks as never[], chunkDelayInMs }) }),
  });
}

function use(model: MockLanguageModelV3, timeoutMs = 5000) {
  useModelForTests({ model, timeoutMs, modelId: model.modelId, maxRetries: 0 });
}

const REPLY = [
  'Dear Karthik,\n\n',
  'We are pleased to confirm ',
  'booking BKG 2611458 on MAERSK KENSINGTON 447W. ',
  'Kindly share the SI before the cut-off.\n\n',
  'Regards,\nVikram Singh',
];

interface Sse {
  status: number;
  headers: Headers;
  raw: string;
  events: Array<Record<string, any> & { type: string }>;
}

/** Splits an SSE body into its `data:` events, checking every line is `data: <json>` or `data: [DONE]`. */
function parseSse(raw: string): Sse['events'] {
  const blocks = raw.split('\n\n').filter(Boolean);
  expect(blocks.at(-1)).toBe('data: [DONE]');
  return blocks.slice(0, -1).map((block) => {
    expect(block.startsWith('data: ')).toBe(true);
    return JSON.parse(block.slice('data: '.length)) as Sse['events'][number];
  });
}

async function compose(body: Record<string, unknown>, as: SeedUserKey = 'agent', signal?: AbortSignal): Promise<Response> {
  return router.fetch(
    new Request('http://localhost/api/ai/compose', {
      method: 'POST',
      headers: { authorization: `Bearer ${await tokenFor(as)}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    }),
  );
}

async function composeSse(body: Record<string, unknown>, as: SeedUserKey = 'agent'): Promise<Sse> {
  const res = await compose(body, as);
  const raw = await res.text();
  return { status: res.status, headers: res.headers, raw, events: res.status === 200 ? parseSse(raw) : [] };
}

const textOf = (events: Sse['events']) =>
  events
    .filter((e) => e.type === 'text-delta')
    .map((e) => e.delta as string)
    .join('');

async function draftsOn(threadId: string) {
  return db.sql<
    { id: string; bodyText: string; authorId: string; status: string; direction: string; metadata: any; toRecipients: any; identifiers: string[] }[]
  >`
    select id, body_text, author_id, status, direction, metadata, to_recipients, identifiers from app.messages
    where thread_id = ${threadId} and status = 'draft' order by created_at`;
}

const promptText = (model: MockLanguageModelV3) => JSON.stringify(model.doStreamCalls[0]?.prompt ?? model.doGenerateCalls[0]?.prompt);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------
// Compose
// ---------------------------------------------------------------------------------------------------

describe('POST /api/ai/compose with a model', () => {
  it('streams the draft as a UI message stream over SSE and saves it as the caller’s draft when it finishes', async () => {
    const model = streamingModel(textChunks(REPLY));
    use(model);
    // The agent has no AI draft on the thread yet (one per member per thread: another test's would be rewritten).
    await db.sql`delete from app.messages where thread_id = ${T1} and author_id = ${SEED_USERS.agent.id} and status = 'draft' and metadata ? 'ai'`;
    const since = await broadcastsSince(db.sql);
    const instruction = `confirm the booking, ask for the SI (${randomUUID().slice(0, 8)})`;
    const res = await composeSse({ threadId: T1, instruction });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const types = res.events.map((e) => e.type);
    expect(types[0]).toBe('start');
    expect(types).toEqual(expect.arrayContaining(['start', 'text-start', 'text-delta', 'text-end', 'data-draft', 'finish']));
    expect(types.at(-1)).toBe('finish');
    expect(types.indexOf('data-draft')).toBeLessThan(types.indexOf('finish'));
    expect(types.indexOf('text-end')).toBeLessThan(types.indexOf('data-draft'));
    expect(res.events[0]).toMatchObject({ type: 'start', messageMetadata: { source: 'model', model: 'mock-drafter' } });
    expect(textOf(res.events)).toBe(REPLY.join(''));

    const draftEvent = res.events.find((e) => e.type === 'data-draft')!;
    expect(draftEvent.data).toEqual({ messageId: expect.any(String), threadId: T1 });
    // Other files draft on the seeded thread concurrently: this test looks at the drafts of its own instruction.
    const drafts = (await draftsOn(T1)).filter((d) => d.metadata?.ai?.instruction === instruction);
    expect(drafts.map((d) => d.id)).toEqual([draftEvent.data.messageId]);
    const draft = drafts[0]!;
    expect(draft).toMatchObject({ status: 'draft', direction: 'outbound', authorId: SEED_USERS.agent.id, bodyText: REPLY.join('').trim() });
    expect(draft.toRecipients).toEqual([{ address: 'karthik@tatatextiles.example' }]);
    // The booking the draft names is stored with it, as for any message.
    expect(draft.identifiers).toContain('2611458');
    expect(draft.metadata.ai).toMatchObject({
      source: 'model',
      model: 'mock-drafter',
      instruction,
      tone: 'formal',
      language: 'en',
    });

    // The team sees it appear, and the author can open (and later send) it like any draft.
    const events = await since();
    const created = events.filter((e) => e.event === 'message.created' && e.payload.data.id === draft.id);
    expect(created.map((e) => e.topic)).toEqual([`org:${SEED_ORG_ID}:thread:${T1}`]);
    expect(created[0]!.payload).toMatchObject({ actorId: SEED_USERS.agent.id, data: { id: draft.id, status: 'draft', threadId: T1 } });
    const opened = await json('GET', `/api/messages/${draft.id}`, { as: 'agent' });
    expect(opened.status).toBe(200);
    expect(opened.body.bodyText).toBe(REPLY.join('').trim());
  });

  it('gives the model the thread, customer, shipment, milestones, open actions, SLA and signature, within the budget, and nothing of another organization', async () => {
    // T1's SLA clock, which the prompt must carry (set here: other tests reply on T1, which answers it).
    await db.sql`update app.threads set next_response_due_at = now() + interval '2 hours' where id = ${T1}`;
    const model = streamingModel(textChunks(['Dear Karthik, noted.']));
    use(model);
    await composeSse({ threadId: T1, instruction: 'Confirm the booking and ask for the SI', tone: 'friendly', language: 'de' });
    const call = model.doStreamCalls[0]!;
    expect(call.maxOutputTokens).toBe(800);
    expect(call.abortSignal).toBeInstanceOf(AbortSignal);
    const [system, user] = call.prompt;
    expect(system?.role).toBe('system');
    expect(user?.role).toBe('user');
    const prompt = promptText(model);
    for (const expected of [
      'Please share the draft B/L at the earliest', // the newest message
      'Please confirm the booking for 2x40HC', // the oldest one, oldest first
      'Tata Textiles Exports Pvt Ltd',
      'strategic tier',
      'Karthik Subramanian',
      'SHL/EXP/2026/0412',
      'MAERSK KENSINGTON',
      'MSKU1234565',
      'milestone: departed',
      'milestone: gated in',
      'Send draft B/L to Tata Textiles', // the open action
      'next response due',
      'Unit 402, Nerul Node', // the organization's signature
      'Vikram Singh', // the caller signs
      'Confirm the booking and ask for the SI',
      'German',
      'warm and friendly',
    ]) {
      expect(prompt, expected).toContain(expected);
    }
    expect(prompt.indexOf('Please confirm the booking for 2x40HC')).toBeLessThan(prompt.indexOf('Please share the draft B/L'));
    expect(prompt).not.toContain(MARKER);
    expect(prompt).not.toContain('Bavaria');
    expect(prompt).not.toContain('Northstar');
  });

  it('trims the oldest messages first to keep the prompt within the context budget', async () => {
    setConfig(parseConfig({ ...process.env, AI_CONTEXT_TOKENS: '500' }));
    const [thread] = await db.sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, channel, counterpart, customer_id) values (${SEED_ORG_ID}, 'Long thread', 'email', 'karthik@tatatextiles.example', '0d000000-0000-4000-8000-000000000001') returning id`;
    for (let i = 1; i <= 12; i++) {
      const text = `Message number ${i}: ${'container stuffing update and cargo details. '.repeat(8)}`;
      await db.sql`insert into app.messages (org_id, thread_id, channel, direction, status, body_text, body_new_text, occurred_at)
        values (${SEED_ORG_ID}, ${thread!.id}, 'email', 'inbound', 'received', ${text}, ${text}, now() - make_interval(mins => ${100 - i}))`;
    }
    const model = streamingModel(textChunks(['Dear Karthik, noted.']));
    use(model);
    await composeSse({ threadId: thread!.id, instruction: 'acknowledge' });
    const prompt = (model.doStreamCalls[0]!.prompt[1]!.content[0] as { text: string }).text;
    expect(prompt).toContain('Message number 12');
    expect(prompt).not.toContain('Message number 3:');
    expect(prompt).toMatch(/\d+ earlier messages? not shown/);
    // Context within budget (500 tokens at 4 characters each), plus the instruction line.
    expect(prompt.length).toBeLessThan(500 * 4 + 300);
  });

  it('keeps one AI draft per member per thread, rewritten by each compose; a draft edited by hand is left alone', async () => {
    const aiDrafts = async () => (await draftsOn(T1)).filter((d) => d.authorId === SEED_USERS.manager.id && d.metadata?.ai);
    await db.sql`delete from app.messages where thread_id = ${T1} and author_id = ${SEED_USERS.manager.id} and status = 'draft'`;
    use(streamingModel(textChunks(['Dear Karthik, first try.'])));
    await composeSse({ threadId: T1, instruction: 'confirm the booking' }, 'manager');
    use(streamingModel(textChunks(['Dear Karthik, second try.'])));
    const since = await broadcastsSince(db.sql);
    await composeSse({ threadId: T1, instruction: 'confirm the booking, politely' }, 'manager');
    const [only, ...more] = await aiDrafts();
    expect(more).toEqual([]);
    expect(only).toMatchObject({ bodyText: 'Dear Karthik, second try.', metadata: { ai: { instruction: 'confirm the booking, politely' } } });
    expect((await since()).filter((e) => e.payload.data?.id === only!.id).map((e) => e.event)).toEqual(['message.updated']);
    // Edited by hand, the draft is the manager's work: the next compose starts a new one.
    const edited = await json('PATCH', `/api/messages/${only!.id}`, { as: 'manager', body: { text: 'Dear Karthik, my own words.' } });
    expect(edited.status).toBe(200);
    use(streamingModel(textChunks(['Dear Karthik, third try.'])));
    await composeSse({ threadId: T1, instruction: 'confirm the booking' }, 'manager');
    const after = await aiDrafts();
    expect(after.map((d) => d.bodyText).sort()).toEqual(['Dear Karthik, my own words.', 'Dear Karthik, third try.']);
  });

  it("answers the AI SDK's own client: useChat's DefaultChatTransport, read with readUIMessageStream", async () => {
    use(streamingModel(textChunks(REPLY)));
    // What a stock useChat front end sends: { id, messages, trigger, messageId, ...body }.
    const transport = new DefaultChatTransport<UIMessage>({
      api: 'http://localhost/api/ai/compose',
      headers: { authorization: `Bearer ${await tokenFor('agent')}` },
      body: { threadId: T1, tone: 'friendly' },
      fetch: (input, init) => router.fetch(new Request(input as string, init)),
    });
    const instruction = `Confirm the booking and ask for the SI (${randomUUID().slice(0, 8)})`;
    const stream = await transport.sendMessages({
      chatId: 'chat-1',
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
      messages: [
        { id: 'u0', role: 'user', parts: [{ type: 'text', text: 'An earlier request' }] },
        { id: 'a0', role: 'assistant', parts: [{ type: 'text', text: 'An earlier draft' }] },
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: instruction }] },
      ],
    });
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream })) last = message;
    const text = last!.parts
      .filter((p) => p.type === 'text')
      .map((p) => (p as { text: string }).text)
      .join('');
    expect(text).toBe(REPLY.join(''));
    const draftPart = last!.parts.find((p) => p.type === 'data-draft') as { data: { messageId: string; threadId: string } } | undefined;
    expect(draftPart?.data).toMatchObject({ threadId: T1 });
    // The instruction was the last user message; the body's fields were kept.
    const [draft] = await db.sql<{ metadata: any }[]>`select metadata from app.messages where id = ${draftPart!.data.messageId}`;
    expect(draft!.metadata.ai).toMatchObject({ instruction, tone: 'friendly' });

    // A chat request with no user text names the instruction as missing.
    const empty = await json('POST', '/api/ai/compose', { as: 'agent', body: { id: 'c', trigger: 'submit-message', threadId: T1, messages: [] } });
    expect(empty.status).toBe(422);
    expect(empty.body.error.details.issues).toEqual([{ path: 'body.instruction', message: 'is required' }]);
  });

  it('stops and saves nothing when the client aborts midway', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `word${i} `);
    const model = streamingModel(textChunks(many), 25);
    use(model);
    // Other files draft on the seeded thread concurrently: this test looks for its own instruction only.
    const instruction = `confirm the booking (abort ${randomUUID().slice(0, 8)})`;
    const controller = new AbortController();
    const res = await compose({ threadId: T1, instruction }, 'agent', controller.signal);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    controller.abort();
    let rest = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }
    await pause(300);
    expect(rest).not.toContain('"data-draft"');
    expect(rest).not.toContain('"type":"finish"');
    expect((await draftsOn(T1)).filter((d) => d.metadata?.ai?.instruction === instruction)).toEqual([]);
  });

  it('ends with an error part and saves nothing when the model fails midway', async () => {
    const model = streamingModel([
      { type: 'stream-start', warnings: [] },
      { type: 'text-start', id: 't1' },
      { type: 'text-delta', id: 't1', delta: 'Dear Karthik,\n\nWe are pleased' },
      { type: 'error', error: new Error('upstream connection reset') },
    ]);
    use(model);
    const instruction = `confirm the booking (fails ${randomUUID().slice(0, 8)})`;
    const res = await composeSse({ threadId: T1, instruction });
    expect(res.status).toBe(200);
    const last = res.events.at(-1)!;
    expect(last.type).toBe('error');
    expect(last.errorText).toBeTypeOf('string');
    expect(last.errorText).not.toContain('upstream connection reset'); // provider details stay in the logs
    expect(res.events.map((e) => e.type)).not.toContain('data-draft');
    expect(res.events.map((e) => e.type)).not.toContain('finish');
    expect(textOf(res.events)).toBe('Dear Karthik,\n\nWe are pleased');
    expect((await draftsOn(T1)).filter((d) => d.metadata?.ai?.instruction === instruction)).toEqual([]);
  });

  it('saves a draft cut short by the output budget, with a notice saying so', async () => {
    const chunks = textChunks(['Dear Karthik,\n\nWe are pleased to confirm']);
    chunks[chunks.length - 1] = finishChunk('length');
    use(streamingModel(chunks));
    const res = await composeSse({ threadId: T1, instruction: 'confirm the booking' });
    expect(res.events.find((e) => e.type === 'data-notice')?.data).toMatchObject({ kind: 'truncated' });
    expect(res.events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'length' });
    const id = res.events.find((e) => e.type === 'data-draft')!.data.messageId;
    const [draft] = await db.sql<{ bodyText: string; metadata: any }[]>`select body_text, metadata from app.messages where id = ${id}`;
    expect(draft).toMatchObject({ bodyText: 'Dear Karthik,\n\nWe are pleased to confirm', metadata: { ai: { finishReason: 'length' } } });
  });

  it('falls back to the template when the model fails before writing anything', async () => {
    const model = new MockLanguageModelV3({
      modelId: 'mock-down',
      doStream: async () => {
        throw new Error('503 Service Unavailable');
      },
    });
    use(model);
    const res = await composeSse({ threadId: T1, instruction: 'confirm the booking, ask for the SI' });
    expect(res.events[0]).toMatchObject({ type: 'start', messageMetadata: { source: 'template' } });
    expect(res.events.filter((e) => e.type === 'start')).toHaveLength(1);
    expect(res.events.map((e) => e.type)).not.toContain('error');
    expect(res.events.find((e) => e.type === 'data-notice')!.data.message).toContain('did not answer');
    const id = res.events.find((e) => e.type === 'data-draft')!.data.messageId;
    const [draft] = await db.sql<{ metadata: any }[]>`select metadata from app.messages where id = ${id}`;
    expect(draft!.metadata.ai).toMatchObject({ source: 'template', reason: 'model_failed' });
  });
});

describe('POST /api/ai/compose without a model (the offline drafter)', () => {
  it('streams a template in the same format, marked as a template, and saves it', async () => {
    useModelForTests(null);
    const res = await composeSse({ threadId: T1, instruction: 'confirm the booking, ask for the SI' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    const types = res.events.map((e) => e.type);
    expect(types[0]).toBe('start');
    expect(types).toEqual(expect.arrayContaining(['data-notice', 'text-start', 'text-delta', 'text-end', 'data-draft', 'finish']));
    expect(types.filter((t) => t === 'text-delta').length).toBeGreaterThan(3);
    expect(types.at(-1)).toBe('finish');
    expect(res.events[0]).toMatchObject({ messageMetadata: { source: 'template' } });
    const notice = res.events.find((e) => e.type === 'data-notice')!;
    expect(notice.data).toMatchObject({ kind: 'template' });
    expect(notice.data.message).toMatch(/template/i);

    const text = textOf(res.events);
    expect(text).toMatch(/^Dear Karthik,/);
    expect(text).toContain('confirm the booking');
    expect(text).toContain('BKG 2611458');
    expect(text).toContain('MAERSK KENSINGTON 447W');
    expect(text).toContain('shipping instructions (SI)');
    expect(text).toMatch(/Regards,\nVikram Singh\nSeahawk Logistics Pvt Ltd/);
    const id = res.events.find((e) => e.type === 'data-draft')!.data.messageId;
    const [draft] = await db.sql<
      { bodyText: string; metadata: any; authorId: string }[]
    >`select body_text, metadata, author_id from app.messages where id = ${id}`;
    expect(draft!.bodyText).toBe(text);
    expect(draft!.authorId).toBe(SEED_USERS.agent.id);
    expect(draft!.metadata.ai).toMatchObject({ source: 'template', reason: 'no_model', tone: 'formal' });
  });

  it('ends before the signatures the mailbox appends, so the sent reply is signed once', async () => {
    useModelForTests(null);
    const signature = '<p>Vikram Singh<br>Export Operations, Seahawk Logistics</p>';
    expect((await json('PATCH', '/api/me', { as: 'agent', body: { signature } })).status).toBe(200);
    try {
      const text = textOf((await composeSse({ threadId: T1, instruction: 'confirm the booking' })).events);
      expect(text).toMatch(/regards,$/i);
      expect(text).not.toContain('Vikram Singh');
    } finally {
      await db.sql`update app.members set signature_html = null where org_id = ${SEED_ORG_ID} and user_id = ${SEED_USERS.agent.id}`;
    }
    // Without a signature to append, the draft signs with the name and the organization's sign-off.
    expect(textOf((await composeSse({ threadId: T1, instruction: 'confirm the booking' })).events)).toMatch(
      /Regards,\nVikram Singh\nSeahawk Logistics Pvt Ltd/,
    );
  });

  it('will not send an AI draft until its placeholders are filled in', async () => {
    useModelForTests(null);
    // A thread of its own (sending changes the thread other tests summarise).
    const thread = await json('POST', '/api/threads', {
      as: 'admin',
      body: { subject: 'Space on the next sailing', contactId: '0e000000-0000-4000-8000-000000000001' },
    });
    expect(thread.status).toBe(201);
    const res = await composeSse({ threadId: thread.body.id, instruction: 'decline politely' }, 'admin');
    const id = res.events.find((e) => e.type === 'data-draft')!.data.messageId;
    const placeholders = textOf(res.events).match(/\[[^\]]+\]/g);
    expect(placeholders?.length).toBeGreaterThan(0);
    const refused = await json('POST', `/api/messages/${id}/send`, { as: 'admin' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details.issues[0].path).toBe('body.text');
    expect(refused.body.error.details.issues[0].message).toContain(placeholders![0]);
    const [still] = await db.sql`select status from app.messages where id = ${id}`;
    expect(still!.status).toBe('draft');
    // Filled in, it goes.
    const filled = await json('PATCH', `/api/messages/${id}`, {
      as: 'admin',
      body: { text: 'Dear Karthik, we cannot take this sailing; the next one is MAERSK KENSINGTON 449W.' },
    });
    expect(filled.status).toBe(200);
    const sent = await json('POST', `/api/messages/${id}/send`, { as: 'admin' });
    expect(sent.status).toBe(200);
    expect(sent.body.status).toBe('queued');
  });

  it('answers a complaint with an apology, ownership and the claim documents', async () => {
    useModelForTests(null);
    const res = await composeSse({ threadId: T6, instruction: 'apologise and promise an update tomorrow', tone: 'formal' }, 'manager');
    const text = textOf(res.events);
    expect(text).toMatch(/^Dear Jonas,/);
    expect(text).toMatch(/apologise for the delay and the damaged cartons/);
    expect(text).toContain('I will take this up personally with our operations team and come back to you with our findings and the next steps tomorrow.');
    expect(text.indexOf('apologise')).toBeLessThan(text.indexOf('take this up'));
    expect(text).not.toMatch(/\[/);
    expect(text).toContain('survey report');
    expect(text).toContain('Anita Desai');
  });
});

/** A received email through the ingest pipeline the IMAP poll uses, with its files stored as attachments. */
async function receive(spec: { subject: string; text: string; files?: Array<{ name: string; bytes: Buffer }> }): Promise<string> {
  const id = randomUUID();
  const head = [
    'From: Karthik Subramanian <karthik@tatatextiles.example>',
    'To: ops@seahawk-logistics.in',
    `Subject: ${spec.subject}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${id}@tatatextiles.example>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="B"',
    '',
    '--B',
    'Content-Type: text/plain; charset=utf-8',
    '',
    spec.text,
  ];
  for (const f of spec.files ?? []) {
    head.push(
      '--B',
      `Content-Type: application/pdf; name="${f.name}"`,
      `Content-Disposition: attachment; filename="${f.name}"`,
      'Content-Transfer-Encoding: base64',
      '',
      f.bytes.toString('base64'),
    );
  }
  head.push('--B--', '');
  const parsed = await parseEmail(Buffer.from(head.join('\r\n')));
  const result = await withClaims(systemClaims(SEED_ORG_ID), (sql) =>
    ingestEmail({ requestId: 'test-receive', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] }, parsed, {
      channelId: null,
      address: 'ops@seahawk-logistics.in',
    }),
  );
  return result.threadId!;
}

describe('the offline drafter states only what the thread holds', () => {
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');

  it('thanks for a document only when the mail carries it; the model is told which files came', async () => {
    useModelForTests(null);
    const withFile = await receive({
      subject: 'Commercial invoice - Hamburg shipment',
      text: 'Dear Vikram,\nPlease find attached the commercial invoice for our Hamburg shipment. The packing list will follow tomorrow.\nRegards,\nKarthik',
      files: [{ name: 'Commercial_Invoice_TT-2211.pdf', bytes: pdf }],
    });
    const carried = textOf((await composeSse({ threadId: withFile, instruction: 'reply' })).events);
    expect(carried).toContain('Thank you for the commercial invoice; we have received it.');
    expect(carried).not.toMatch(/packing list[^.]*received/);

    const announced = await receive({
      subject: 'Invoice and packing list',
      text: 'Dear Vikram,\nWe will send the commercial invoice and packing list tomorrow once the buyer approves the values.\nRegards,\nKarthik',
    });
    const none = textOf((await composeSse({ threadId: announced, instruction: 'reply' })).events);
    expect(none).not.toMatch(/received/);
    expect(none).toContain('we will check them as soon as they reach us');

    const model = streamingModel(textChunks(['Dear Karthik,\n\nThank you for the commercial invoice.']));
    use(model);
    await composeSse({ threadId: withFile, instruction: 'reply' });
    expect(promptText(model)).toContain('Attachments: Commercial_Invoice_TT-2211.pdf');
  });

  it('leaves a booking number the thread lacks as a placeholder, and /send refuses the draft until it is filled', async () => {
    useModelForTests(null);
    const threadId = await receive({
      subject: 'Booking 1x40HC Nhava Sheva - Jebel Ali',
      text: 'Dear Vikram,\nRates are fine. Please book 1x40HC Nhava Sheva to Jebel Ali on the next sailing.\nRegards,\nKarthik',
    });
    const res = await composeSse({ threadId, instruction: 'confirm the booking, ask for the SI' });
    const text = textOf(res.events);
    expect(text).toContain('We are pleased to confirm the booking [booking number] on [vessel/voyage], ETD [date].');
    const id = res.events.find((e) => e.type === 'data-draft')!.data.messageId;
    const refused = await json('POST', `/api/messages/${id}/send`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.details.issues[0].path).toBe('body.text');
    expect(refused.body.error.details.issues[0].message).toContain('[booking number]');
  });
});

describe('POST /api/ai/compose guards', () => {
  it('is for members who may write: viewers get 403, other organizations 404, bad input 422 naming fields', async () => {
    useModelForTests(null);
    const viewer = await json('POST', '/api/ai/compose', { as: 'viewer', body: { threadId: T1, instruction: 'x' } });
    expect(viewer.status).toBe(403);
    const other = await json('POST', '/api/ai/compose', { as: 'other', body: { threadId: T1, instruction: 'confirm the booking' } });
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain('Tata');
    const foreign = await json('POST', '/api/ai/compose', { as: 'agent', body: { threadId: FOREIGN_THREAD, instruction: 'confirm the booking' } });
    expect(foreign.status).toBe(404);
    const bad = await json('POST', '/api/ai/compose', { as: 'agent', body: { threadId: 'nope', instruction: '', tone: 'rude', language: 'english' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'body.instruction',
      'body.language',
      'body.threadId',
      'body.tone',
    ]);
  });

  it('limits drafts per user a minute with 429 and Retry-After', async () => {
    useModelForTests(null);
    setConfig(parseConfig({ ...process.env, AI_COMPOSE_PER_USER_PER_MINUTE: '2' }));
    resetRateLimiter();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i++) {
      last = await compose({ threadId: T1, instruction: 'confirm the booking' }, 'manager');
      statuses.push(last.status);
      await last.text();
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    // The budget is the caller's: another member still drafts, and other AI routes are not limited by it.
    expect((await compose({ threadId: T1, instruction: 'confirm the booking' }, 'owner')).status).toBe(200);
    expect((await json('POST', '/api/ai/summarize', { as: 'manager', body: { threadId: T1 } })).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------------
// The OpenAI adapter end to end
// ---------------------------------------------------------------------------------------------------

describe('the OpenAI adapter against a local OpenAI-compatible server', () => {
  const configure = (extra: Record<string, string> = {}) =>
    setConfig(parseConfig({ ...process.env, OPENAI_API_KEY: 'sk-test-key', OPENAI_BASE_URL: openai.baseUrl, AI_MODEL: 'gpt-draft-test', ...extra }));

  it('streams chat completions into the draft', async () => {
    configure();
    const content = 'Dear Karthik,\n\nBooking BKG 2611458 is confirmed on MAERSK KENSINGTON 447W. Kindly share the SI.\n\nRegards,\nVikram Singh';
    openai.reply({ content });
    const res = await composeSse({ threadId: T1, instruction: 'confirm the booking, ask for the SI' });
    expect(res.status).toBe(200);
    expect(textOf(res.events)).toBe(content);
    expect(res.events[0]).toMatchObject({ type: 'start', messageMetadata: { source: 'model', model: 'gpt-draft-test' } });

    expect(openai.requests).toHaveLength(1);
    const request = openai.requests[0]!;
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe('Bearer sk-test-key');
    expect(request.body).toMatchObject({ model: 'gpt-draft-test', stream: true });
    expect(request.body.max_tokens ?? request.body.max_completion_tokens).toBe(800);
    expect(request.body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(JSON.stringify(request.body.messages)).toContain('Please share the draft B/L at the earliest');
    expect(JSON.stringify(request.body.messages)).not.toContain(MARKER);

    const id = res.events.find((e) => e.type === 'data-draft')!.data.messageId;
    const [draft] = await db.sql<{ bodyText: string; metadata: any }[]>`select body_text, metadata from app.messages where id = ${id}`;
    expect(draft!.bodyText).toBe(content);
    expect(draft!.metadata.ai).toMatchObject({ source: 'model', model: 'gpt-draft-test', finishReason: 'stop' });
  });

  it('falls back to the template when the server does not answer within AI_TIMEOUT_MS', async () => {
    configure({ AI_TIMEOUT_MS: '300' });
    // The server never answers: only AI_TIMEOUT_MS ends the call (a missing one fails the test by its
    // own timeout); an aborted call is not retried.
    openai.reply({ hang: true });
    const res = await composeSse({ threadId: T1, instruction: 'confirm the booking' });
    expect(res.events[0]).toMatchObject({ type: 'start', messageMetadata: { source: 'template' } });
    expect(res.events.map((e) => e.type)).toEqual(expect.arrayContaining(['data-draft', 'finish']));
    expect(openai.requests).toHaveLength(1);
  });

  it('summarises and suggests with structured output, and falls back offline on errors and timeouts', async () => {
    configure({ AI_TIMEOUT_MS: '300' });
    openai.reply({
      json: {
        summary: 'Tata Textiles wants the draft B/L for SHL/EXP/2026/0412.',
        bullets: ['- Containers MSKU1234565, TGHU8765436 stuffed', 'Draft B/L requested'],
      },
    });
    const summary = await json('POST', '/api/ai/summarize', { as: 'viewer', body: { threadId: T1 } });
    expect(summary.status).toBe(200);
    expect(summary.body).toEqual({
      summary: 'Tata Textiles wants the draft B/L for SHL/EXP/2026/0412.',
      bullets: ['Containers MSKU1234565, TGHU8765436 stuffed', 'Draft B/L requested'],
      source: 'model',
    });
    const request = openai.requests[0]!;
    expect(request.body.stream).toBeFalsy();
    expect(request.body.response_format?.type).toBe('json_schema');
    expect(JSON.stringify(request.body.messages)).not.toContain(MARKER);

    openai.reply({
      json: {
        suggestions: [
          {
            title: 'Send the draft B/L to Tata Textiles',
            type: 'send_document',
            priority: 'high',
            dueInHours: 4,
            shipmentReference: 'SHL/EXP/2026/0412',
            reason: 'Karthik asked for it.',
          },
          { title: 'Check the VGM', type: 'follow_up', priority: 'normal', dueInHours: null, shipmentReference: 'SOMEONE-ELSES-REF', reason: 'Cut-off.' },
        ],
      },
    });
    const suggested = await json('POST', '/api/ai/suggest-actions', { as: 'agent', body: { threadId: T1 } });
    expect(suggested.status).toBe(200);
    expect(suggested.body.source).toBe('model');
    // The first duplicates T1's open send_document action for the draft B/L: dropped.
    expect(suggested.body.suggestions).toEqual([
      {
        title: 'Check the VGM',
        description: 'Cut-off.',
        type: 'follow_up',
        priority: 'normal',
        threadId: T1,
        source: 'ai',
        suggestion: { key: expect.stringMatching(/^[0-9a-f]{16}$/), source: 'model', model: expect.any(String) },
      },
    ]);

    // The server fails (500 on every attempt): the offline answers stand.
    const failed = await json('POST', '/api/ai/summarize', { as: 'agent', body: { threadId: T1 } });
    expect(failed.status).toBe(200);
    expect(failed.body.source).toBe('offline');
    // The server hangs: only AI_TIMEOUT_MS ends the call.
    openai.reply({ hang: true }, { hang: true });
    const slow = await json('POST', '/api/ai/suggest-actions', { as: 'agent', body: { threadId: T6 } });
    expect(slow.status).toBe(200);
    expect(slow.body.source).toBe('offline');
  });
});

// ---------------------------------------------------------------------------------------------------
// Summaries and suggestions
// ---------------------------------------------------------------------------------------------------

describe('POST /api/ai/summarize', () => {
  it('summarises offline from the thread’s messages, shipment, identifiers and actions, for every role', async () => {
    useModelForTests(null);
    const res = await json('POST', '/api/ai/summarize', { as: 'viewer', body: { threadId: T1 } });
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('offline');
    expect(res.body.summary).toContain('Booking confirmation for 2x40HC Nhava Sheva to Hamburg');
    expect(res.body.summary).toContain('Tata Textiles Exports Pvt Ltd');
    expect(res.body.summary).toContain('Awaiting our reply');
    const bullets = res.body.bullets.join('\n');
    expect(bullets).toContain('SHL/EXP/2026/0412');
    expect(bullets).toContain('MSKU1234565');
    expect(bullets).toContain('Send draft B/L to Tata Textiles');
    expect(res.body.bullets.length).toBeLessThanOrEqual(8);
    expect(JSON.stringify(res.body)).not.toContain(MARKER);
  });

  it('uses the model’s structured answer, and the offline one when the answer does not validate', async () => {
    const model = new MockLanguageModelV3({
      doGenerate: async () => ({
        content: [{ type: 'text', text: JSON.stringify({ summary: 'Customs query on HLXU3002457.', bullets: ['HS 9403 vs 9401'] }) }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      }),
    });
    use(model);
    const res = await json('POST', '/api/ai/summarize', { as: 'agent', body: { threadId: T3 } });
    expect(res.body).toEqual({ summary: 'Customs query on HLXU3002457.', bullets: ['HS 9403 vs 9401'], source: 'model' });
    expect(promptText(model)).toContain('HLXU3002457');
    expect(promptText(model)).not.toContain(MARKER);

    use(
      new MockLanguageModelV3({
        doGenerate: async () => ({ content: [{ type: 'text', text: '{"summary": 42}' }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] }),
      }),
    );
    const fallback = await json('POST', '/api/ai/summarize', { as: 'agent', body: { threadId: T3 } });
    expect(fallback.body.source).toBe('offline');
    expect(fallback.body.summary).toContain('Bill of entry query');
  });

  it('answers 404 for a thread of another organization', async () => {
    expect((await json('POST', '/api/ai/summarize', { as: 'agent', body: { threadId: FOREIGN_THREAD } })).status).toBe(404);
    expect((await json('POST', '/api/ai/suggest-actions', { as: 'other', body: { threadId: T1 } })).status).toBe(404);
  });
});

describe('POST /api/ai/suggest-actions', () => {
  it('suggests actions by rule that POST /api/actions accepts as they are', async () => {
    useModelForTests(null);
    const res = await json('POST', '/api/ai/suggest-actions', { as: 'viewer', body: { threadId: T6 } });
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('offline');
    const suggestions = res.body.suggestions as Array<Record<string, any>>;
    expect(suggestions.length).toBeGreaterThan(0);
    expect(suggestions[0]).toMatchObject({ title: 'Call Jonas Becker about the complaint', type: 'call_back', threadId: T6 });
    expect(['high', 'urgent']).toContain(suggestions[0]!.priority);
    expect(suggestions.map((s) => s.type)).toContain('follow_up');
    for (const s of suggestions) {
      expect(actionCreate.safeParse(s).success, JSON.stringify(s)).toBe(true);
      expect(s.description).toBeTruthy();
      expect(new Date(s.dueAt).getTime()).toBeGreaterThan(Date.now());
    }
    // Accepting one is one call with the suggestion as the body.
    const created = await json('POST', '/api/actions', { as: 'agent', body: suggestions[0] });
    expect(created.status).toBe(201);
    // It stays recognisable as the AI's, and as which suggestion.
    expect(created.body).toMatchObject({
      title: suggestions[0]!.title,
      type: 'call_back',
      threadId: T6,
      status: 'open',
      source: 'ai',
      suggestion: { key: suggestions[0]!.suggestion.key, source: 'offline', model: null },
    });
    expect(suggestions[0]!.suggestion.key).toMatch(/^[0-9a-f]{16}$/);
    // A member's own task is manual; a suggestion cannot be claimed for one.
    const manual = await json('POST', '/api/actions', { as: 'agent', body: { title: 'Chase the surveyor', threadId: T6 } });
    expect(manual.body).toMatchObject({ source: 'manual', suggestion: null });
    const claimed = await json('POST', '/api/actions', { as: 'agent', body: { ...suggestions[0], source: 'manual' } });
    expect(claimed.status).toBe(422);
    expect(claimed.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(['body.suggestion']);
    // Now open, it is not suggested again.
    const again = await json('POST', '/api/ai/suggest-actions', { as: 'agent', body: { threadId: T6 } });
    expect(again.body.suggestions.map((s: { type: string }) => s.type)).not.toContain('call_back');
  });

  it('does not repeat an open action, and ties shipment work to the linked shipment', async () => {
    useModelForTests(null);
    // T1's open action already sends the draft B/L; a booking request on a fresh thread gets booking work.
    const t1 = await json('POST', '/api/ai/suggest-actions', { as: 'agent', body: { threadId: T1 } });
    expect(t1.body.suggestions.filter((s: { type: string; title: string }) => s.type === 'send_document' && /B\/L/.test(s.title))).toEqual([]);

    const [thread] = await db.sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, channel, counterpart, customer_id, contact_id)
      values (${SEED_ORG_ID}, 'Booking 1x20GP', 'email', 'karthik@tatatextiles.example', '0d000000-0000-4000-8000-000000000001', '0e000000-0000-4000-8000-000000000001') returning id`;
    await db.sql`insert into app.thread_shipments (org_id, thread_id, shipment_id) values (${SEED_ORG_ID}, ${thread!.id}, '0f000000-0000-4000-8000-000000000002')`;
    const text = 'Dear Team,\n\nRates are fine, please go ahead and book 1x20GP on the next sailing.\n\nRegards,\nKarthik';
    await db.sql`insert into app.messages (org_id, thread_id, channel, direction, status, from_address, subject, body_text, body_new_text)
      values (${SEED_ORG_ID}, ${thread!.id}, 'email', 'inbound', 'received', 'karthik@tatatextiles.example', 'Booking 1x20GP', ${text}, ${text})`;
    const res = await json('POST', '/api/ai/suggest-actions', { as: 'agent', body: { threadId: thread!.id } });
    const byType = Object.fromEntries((res.body.suggestions as Array<{ type: string }>).map((s) => [s.type, s]));
    expect(byType.booking).toMatchObject({
      title: 'Confirm the booking with Emirates SkyCargo for SHL/EXP/2026/0419',
      shipmentId: '0f000000-0000-4000-8000-000000000002',
      priority: 'high',
    });
    expect(byType.request_document).toMatchObject({ title: 'Request the SI and VGM from Tata Textiles Exports Pvt Ltd' });
  });

  it('suggests a call back on a missed call', async () => {
    useModelForTests(null);
    const res = await json('POST', '/api/ai/suggest-actions', { as: 'agent', body: { threadId: T9 } });
    // T9 already has an open call-back action: nothing to add.
    expect(res.body.suggestions.map((s: { type: string }) => s.type)).not.toContain('call_back');
    await db.sql`update app.actions set status = 'done' where thread_id = ${T9}`;
    const after = await json('POST', '/api/ai/suggest-actions', { as: 'agent', body: { threadId: T9 } });
    expect(after.body.suggestions[0]).toMatchObject({ title: 'Call back Ramesh Patil', type: 'call_back', threadId: T9 });
  });
});

describe('tenancy of the template', () => {
  it('states the linked shipment only, never another organization’s shipment with the same container', async () => {
    useModelForTests(null);
    const res = await composeSse({ threadId: T1, instruction: 'give the status' });
    const text = textOf(res.events);
    expect(text).toContain('SHL/EXP/2026/0412 (MSKU1234565, TGHU8765436) is in transit on MAERSK KENSINGTON 447W');
    expect(text).not.toContain(MARKER);
    expect(JSON.stringify(res.events)).not.toContain(MARKER);
  });
});
