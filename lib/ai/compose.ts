// Reply drafts streamed to the web app in the AI SDK's UI message stream format (server-sent events:
// `data: {chunk}` lines, `data: [DONE]`, header `x-vercel-ai-ui-message-stream: v1`), so `useChat` /
// `readUIMessageStream` read them as they are. The model writes the draft from the thread context; with
// no model (or one that fails before writing anything) the offline drafter's template streams in the
// same format, marked `{ source: 'template' }` in the message metadata with a `data-notice` part.
// A stream that finishes normally is saved as a `draft` outbound message authored by the caller, and its
// id sent as a `data-draft` part before `finish`; an aborted stream, or one that fails midway (it ends
// with an `error` part), saves nothing.
//
// The context is read through the request's RLS transaction before the stream starts; the stream then
// runs after that transaction has committed, so the draft is saved in a transaction of its own under
// the caller's claims (withClaims).
import { randomUUID } from 'node:crypto';
import { createUIMessageStream, createUIMessageStreamResponse, streamText, type UIMessage, type UIMessageStreamWriter } from 'ai';
import * as z from 'zod';
import { config } from '../config.js';
import type { Ctx } from '../context.js';
import { withClaims, type Claims } from '../db/client.js';
import { makeSnippet } from '../email/quoted.js';
import { messageIdentifiers } from '../logistics/identifiers.js';
import { AppError, forbidden, notFound } from '../errors.js';
import type { Role } from '../http/permissions.js';
import { enforceRateLimit } from '../http/rate-limit.js';
import { log } from '../log.js';
import { getMessage, type Message } from '../messages/service.js';
import { channelSender } from '../messages/senders.js';
import { announceMessage } from '../messages/announce.js';
import type { ModelChoice } from './analysis/index.js';
import { gatherThreadContext, renderContext, resolveModel, UNTRUSTED_CONTENT_RULE, type ThreadContext } from './context.js';
import { draftOffline, signOff, TONES, type DraftRequest, type TemplateReason } from './offline-drafter.js';

/**
 * The AI SDK's own chat request (`useChat` with `DefaultChatTransport`): `{ id, messages, trigger,
 * messageId?, ...body }`. It is read as the documented shape: the instruction is the last user
 * message's text, unless the body names one.
 */
const chatRequest = z.looseObject({
  messages: z.array(z.looseObject({ role: z.string(), parts: z.array(z.looseObject({ type: z.string(), text: z.unknown() })).optional() })),
});

function fromChatRequest(input: unknown): unknown {
  const chat = chatRequest.safeParse(input);
  if (!chat.success) return input;
  const { id: _id, messages: _messages, trigger: _trigger, messageId: _messageId, ...rest } = chat.data;
  const lastUser = chat.data.messages.findLast((m) => m.role === 'user');
  const text = (lastUser?.parts ?? [])
    .filter((p) => p.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('\n')
    .trim();
  return rest.instruction === undefined && text ? { ...rest, instruction: text } : rest;
}

const composeFields = z.strictObject({
  threadId: z.uuid('must be a thread id (uuid)'),
  instruction: z.string().trim().min(1, 'say what the reply should do, e.g. "confirm the booking, ask for the SI"').max(2000),
  tone: z.enum(TONES).default('formal'),
  language: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z]{2}$/, 'must be an ISO 639-1 code such as en, de or hi')
    .default('en'),
});

/** The documented body, or the AI SDK's chat request read as it. */
export const composeBody = z.preprocess(fromChatRequest, composeFields);

export type ComposeInput = z.infer<typeof composeFields>;

/** Message metadata on `start`: where the text comes from. */
export interface ComposeMetadata {
  source: 'model' | 'template';
  model?: string;
  intent?: string;
}

/** Custom data parts: `data-draft` (the saved draft) and `data-notice` (template or cut-short notices). */
export interface ComposeDataParts {
  draft: { messageId: string; threadId: string };
  notice: { kind: 'template' | 'truncated'; message: string };
  [key: string]: unknown;
}

export type ComposeUIMessage = UIMessage<ComposeMetadata, ComposeDataParts>;
type Writer = UIMessageStreamWriter<ComposeUIMessage>;

/** Who the draft is saved for (the request's transaction is gone when the stream ends). */
interface Owner {
  requestId: string;
  userId: string;
  orgId: string;
  role: Role;
}

const TONE_RULES: Record<DraftRequest['tone'], string> = {
  formal: 'formal, courteous business English as Indian freight forwarders write it; complete sentences',
  friendly: 'warm and friendly but professional; plain words',
  brief: 'brief: a few short sentences, no pleasantries beyond the greeting',
};

function languageName(code: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}

/** The system prompt and the user prompt for one draft; the context is cut to the token budget. */
export function composePrompt(c: ThreadContext, input: Pick<ComposeInput, 'instruction' | 'tone' | 'language'>, budgetTokens = config().ai.contextTokens) {
  const rendered = renderContext(c, budgetTokens);
  const words = input.tone === 'brief' ? 80 : 220;
  const system = [
    `You write reply drafts for ${c.org.name || 'a freight forwarder'}, a freight forwarder, on behalf of ${c.author.name ?? 'a member of the team'}.`,
    'Write the reply to the latest message of the thread, doing what the member instructs.',
    'Rules:',
    '- Write only the message, ready to send: a greeting by the contact’s name, the reply, and the sign-off given below, exactly. No subject line, no notes to the member, no markdown.',
    `- Tone: ${TONE_RULES[input.tone]}.`,
    `- Language: write in ${languageName(input.language)}.`,
    '- Use only facts found in the thread context (shipment status, vessel and voyage, dates, identifiers, documents, amounts). Never invent rates, dates, vessel names, cut-offs or reference numbers; where a fact the reply needs is missing, write a placeholder in [square brackets] for the member to fill in.',
    `- At most about ${words} words.`,
    `- ${UNTRUSTED_CONTENT_RULE}`,
    '',
    'Sign-off:',
    signOff(c, input.tone),
  ].join('\n');
  const prompt = `Thread context:\n<context>\n${rendered.text}\n</context>\n\nInstruction from ${c.author.name ?? 'the member'}: ${input.instruction}`;
  return { system, prompt, messagesIncluded: rendered.messagesIncluded, contextTokens: rendered.tokens };
}

/**
 * Saves a finished draft as the caller, in its own transaction, and announces it: the caller's AI draft
 * on the thread rewritten (message.updated), else a new one (message.created).
 */
export async function saveDraft(owner: Owner, threadId: string, text: string, ai: Record<string, unknown>): Promise<Message> {
  const claims: Claims = { sub: owner.userId, role: 'authenticated', org_id: owner.orgId, org_role: owner.role };
  return withClaims(claims, async (tx) => {
    const ctx: Ctx = { requestId: owner.requestId, userId: owner.userId, orgId: owner.orgId, role: owner.role, sql: tx, jobs: [] };
    const [thread] = await tx<{ id: string; channel: string; channelId: string | null; counterpart: string | null; subject: string }[]>`
      select id, channel, channel_id, counterpart, subject from app.threads where id = ${threadId} and org_id = ${owner.orgId}`;
    if (!thread) throw notFound('Thread');
    // The mailbox a reply would leave from; a draft is kept without one (it is picked when the draft is sent).
    let from: { channelId: string; address: string } | null = null;
    try {
      from = await channelSender(thread.channel).resolveFrom(ctx, thread);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
    }
    // One AI draft per member per thread, rewritten by each compose (under a lock, so two composes at
    // once still leave one); drafts written or edited by hand are never touched.
    await tx`select pg_advisory_xact_lock(hashtextextended(${`ai-draft:${owner.orgId}:${threadId}:${owner.userId}`}, 0))`;
    const [existing] = await tx<{ id: string }[]>`
      select id from app.messages
      where org_id = ${owner.orgId} and thread_id = ${threadId} and author_id = ${owner.userId} and status = 'draft'
        and metadata ? 'ai' and not metadata ? 'editedByHand'
      order by created_at desc limit 1`;
    const audit = { data: { status: 'draft', ai: { source: ai.source, model: ai.model ?? null } } };
    const body = {
      bodyText: text,
      bodyNewText: text,
      snippet: makeSnippet(text),
      identifiers: messageIdentifiers({ subject: thread.subject, body: text }),
      metadata: tx.json({ ai } as never),
    };
    if (existing) {
      await tx`update app.messages set ${tx(body as never)} where id = ${existing.id}`;
      await announceMessage(ctx, existing.id, { action: 'message.updated', ...audit }, 'message.updated');
      return getMessage(ctx, existing.id);
    }
    const id = randomUUID();
    await tx`
      insert into app.messages ${tx({
        id,
        orgId: owner.orgId,
        threadId,
        channel: thread.channel,
        channelId: from?.channelId ?? null,
        direction: 'outbound',
        status: 'draft',
        fromAddress: from?.address ?? null,
        toRecipients: tx.json((thread.counterpart ? [{ address: thread.counterpart }] : []) as never),
        subject: thread.subject,
        ...body,
        authorId: owner.userId,
      } as never)}`;
    await announceMessage(ctx, id, { action: 'message.created', ...audit }, 'message.created');
    return getMessage(ctx, id);
  });
}

/** Splits a template into word groups so it streams like model output. */
function pieces(text: string): string[] {
  return (
    text.match(/\S+\s*|\s+/g)?.reduce<string[]>((out, word, i) => {
      if (i % 3 === 0) out.push(word);
      else out[out.length - 1] += word;
      return out;
    }, []) ?? []
  );
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Run {
  writer: Writer;
  context: ThreadContext;
  input: ComposeInput;
  owner: Owner;
  signal: AbortSignal;
}

/** Saves the draft and sends its id; a failure to save ends the stream with an error part instead. */
async function finishWithDraft(run: Run, text: string, ai: Record<string, unknown>): Promise<boolean> {
  if (run.signal.aborted) return false;
  try {
    const message = await saveDraft(run.owner, run.input.threadId, text, ai);
    run.writer.write({ type: 'data-draft', id: 'draft', data: { messageId: message.id, threadId: run.input.threadId } });
    return true;
  } catch (error) {
    log.error('AI draft could not be saved', { requestId: run.owner.requestId, threadId: run.input.threadId, error });
    run.writer.write({ type: 'error', errorText: 'The draft could not be saved; try again.' });
    return false;
  }
}

/** Streams the offline drafter's reply (text-start, text-delta chunks, text-end) and saves it. */
async function streamTemplate(run: Run, reason: TemplateReason): Promise<void> {
  const { writer, context, input, signal } = run;
  const draft = draftOffline(context, input, reason);
  writer.write({ type: 'start', messageMetadata: { source: 'template', intent: draft.intent } });
  writer.write({ type: 'data-notice', id: 'notice', data: { kind: 'template', message: draft.notice } });
  writer.write({ type: 'start-step' });
  const id = `text-${randomUUID()}`;
  writer.write({ type: 'text-start', id });
  for (const delta of pieces(draft.text)) {
    await nextTick();
    if (signal.aborted) {
      writer.write({ type: 'abort' });
      return;
    }
    writer.write({ type: 'text-delta', id, delta });
  }
  writer.write({ type: 'text-end', id });
  writer.write({ type: 'finish-step' });
  const ai = { source: 'template', reason, intent: draft.intent, instruction: input.instruction, tone: input.tone, language: input.language };
  if (await finishWithDraft(run, draft.text, ai)) writer.write({ type: 'finish', finishReason: 'stop' });
}

/**
 * Streams the model's reply. Chunks pass through as the model writes them, except that `start` waits for
 * the first text (a model that fails before writing anything hands over to the template) and `finish`
 * waits for the draft to be saved. An error after text has streamed ends the stream with the error.
 */
async function streamModel(run: Run, choice: ModelChoice): Promise<void> {
  const { writer, context, input, signal } = run;
  const cfg = config().ai;
  const prompt = composePrompt(context, input);
  let modelError: unknown;
  // Until the first text arrives (connecting, queueing at the provider) the call gets AI_TIMEOUT_MS; after
  // that, the chunk timeout gives up on a model that stops sending.
  const firstText = new AbortController();
  const firstTextTimer = setTimeout(() => firstText.abort(new Error(`no answer within ${choice.timeoutMs} ms`)), choice.timeoutMs);
  const result = streamText({
    model: choice.model,
    system: prompt.system,
    prompt: prompt.prompt,
    maxOutputTokens: cfg.maxOutputTokens,
    temperature: 0.3,
    maxRetries: choice.maxRetries ?? 1,
    abortSignal: AbortSignal.any([signal, firstText.signal]),
    // Gives up when the model stops sending for this long (the stream's length is bounded by maxOutputTokens).
    timeout: { chunkMs: choice.timeoutMs },
    onError: ({ error }) => {
      modelError = error;
    },
  });
  const stream = result.toUIMessageStream<ComposeUIMessage>({
    messageMetadata: ({ part }) => (part.type === 'start' ? { source: 'model', model: choice.modelId } : undefined),
    onError: () => 'The AI model failed while writing the draft.',
  });

  type Chunk = Parameters<Writer['write']>[0];
  const held: Chunk[] = [];
  let text = '';
  let streaming = false;
  let failed = false;
  let finish: Extract<Chunk, { type: 'finish' }> | undefined;
  let aborted = false;
  for await (const chunk of stream) {
    if (chunk.type === 'text-start' || chunk.type === 'error' || chunk.type === 'finish') clearTimeout(firstTextTimer);
    if (chunk.type === 'start' || (!streaming && chunk.type === 'start-step')) {
      held.push(chunk);
      continue;
    }
    if (chunk.type === 'finish') {
      finish = chunk;
      continue;
    }
    if (chunk.type === 'abort') {
      // Written at the end: a client that left gets it, a model that timed out gets the template or an error.
      aborted = true;
      continue;
    }
    if (chunk.type === 'error') {
      failed = true;
      if (!streaming) continue;
    }
    if (failed && (chunk.type === 'finish-step' || chunk.type === 'message-metadata')) continue;
    if (!streaming && chunk.type === 'text-start') {
      streaming = true;
      for (const h of held.splice(0)) writer.write(h);
    }
    if (chunk.type === 'text-delta') text += chunk.delta;
    if (!streaming) continue;
    writer.write(chunk);
  }

  clearTimeout(firstTextTimer);
  const clientGone = signal.aborted;
  if (clientGone) {
    writer.write({ type: 'abort' });
    return;
  }
  const reason = modelError instanceof Error ? `${modelError.name}: ${modelError.message}` : aborted ? 'timed out' : failed ? 'error' : 'empty answer';
  if (!streaming) {
    // Nothing written yet: the template stands in, so the member still gets a draft.
    log.warn('AI draft: the model failed before writing; the template stands in', {
      requestId: run.owner.requestId,
      model: choice.modelId,
      error: reason.slice(0, 500),
    });
    await streamTemplate(run, 'model_failed');
    return;
  }
  if (failed || aborted || !finish || !text.trim()) {
    log.warn('AI draft: the model failed midway; nothing saved', { requestId: run.owner.requestId, model: choice.modelId, error: reason.slice(0, 500) });
    // A model error has been passed on already; a stall or an empty answer is said here.
    if (!failed)
      writer.write({
        type: 'error',
        errorText: aborted ? 'The AI model stopped answering; nothing was saved.' : 'The AI model answered nothing; nothing was saved.',
      });
    return;
  }
  if (finish.finishReason === 'length') {
    writer.write({ type: 'data-notice', id: 'notice', data: { kind: 'truncated', message: 'The draft reached the length limit and may be cut short.' } });
  }
  const ai = {
    source: 'model',
    model: choice.modelId,
    finishReason: finish.finishReason ?? null,
    instruction: input.instruction,
    tone: input.tone,
    language: input.language,
  };
  if (await finishWithDraft(run, text.trim(), ai)) writer.write(finish);
}

/** Wraps a stream so that cancelling it (the client stopped reading) runs onCancel. */
function cancellable<T>(stream: ReadableStream<T>, onCancel: () => void): ReadableStream<T> {
  const reader = stream.getReader();
  return new ReadableStream<T>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      onCancel();
      return reader.cancel(reason);
    },
  });
}

/**
 * POST /api/ai/compose: checks the per-user draft budget, reads the thread context under RLS, and
 * answers with the draft's UI message stream.
 */
export async function composeReply(ctx: Ctx, input: ComposeInput, request: Request): Promise<Response> {
  if (!ctx.userId || ctx.role === 'system') throw forbidden('Drafts are written for a member');
  await enforceRateLimit(`ai-compose:${ctx.userId}`, config().ai.composePerUserPerMinute);
  const context = await gatherThreadContext(ctx, input.threadId);
  const model = await resolveModel();
  const owner: Owner = { requestId: ctx.requestId, userId: ctx.userId, orgId: ctx.orgId, role: ctx.role };
  const stop = new AbortController();
  const signal = AbortSignal.any([request.signal, stop.signal]);
  const stream = createUIMessageStream<ComposeUIMessage>({
    execute: async ({ writer }) => {
      const run: Run = { writer, context, input, owner, signal };
      if (model) await streamModel(run, model);
      else await streamTemplate(run, 'no_model');
    },
    onError: (error) => {
      log.error('AI draft stream failed', { requestId: ctx.requestId, error });
      return 'The draft could not be written; try again.';
    },
  });
  return createUIMessageStreamResponse({ stream: cancellable(stream, () => stop.abort()) });
}
