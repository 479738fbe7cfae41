// A local OpenAI-compatible server for tests: POST /v1/chat/completions answering either one JSON
// completion or, when the request asks for `stream: true`, server-sent events (`data: {chunk}` lines
// and `data: [DONE]`); POST /v1/audio/transcriptions (multipart file + model) answering `{ text }`. Each test scripts the next answers and reads back the requests it received.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: {
    model: string;
    messages: Array<{ role: string; content: string | Array<{ type: string; text?: string }> }>;
    stream?: boolean;
    response_format?: { type: string; json_schema?: { name?: string; strict?: boolean; schema: Record<string, any> } };
    [key: string]: unknown;
  };
}

/** One POST /v1/audio/transcriptions (multipart: file, model, optional response_format etc.). */
export interface TranscriptionRequest {
  headers: IncomingMessage['headers'];
  fields: Record<string, string>;
  file: { name: string; type: string; bytes: Buffer } | null;
}

/** What /v1/audio/transcriptions answers: the text (as `json`, or `verbose_json` with segments when asked), or an error. */
export type FakeTranscriptionReply = { text: string; language?: string } | { status: number; message?: string };

/** What the server answers to one request. */
export type FakeReply =
  /** A completion whose message content is this text (a JSON string for structured output). */
  | { content: string; delayMs?: number }
  /** Shorthand: content = JSON.stringify(json). */
  | { json: unknown; delayMs?: number }
  /** An HTTP error with an OpenAI-style error body. */
  | { status: number; message?: string }
  /** Never answers within any sensible timeout (the client must give up). */
  | { hang: true };

export interface FakeOpenAI {
  /** Base URL to configure as OPENAI_BASE_URL (ends in /v1). */
  baseUrl: string;
  requests: ChatRequest[];
  /** Queue answers; when the queue is empty, `fallback` answers. */
  reply(...replies: FakeReply[]): void;
  fallback: FakeReply;
  transcriptions: TranscriptionRequest[];
  /** Queue transcription answers; when the queue is empty, `transcriptionFallback` answers. */
  replyTranscription(...replies: FakeTranscriptionReply[]): void;
  transcriptionFallback: FakeTranscriptionReply;
  /**
   * Back to a fresh server's state: no queued answers (a test that scripted more than it used must not
   * hand them to the next one), no recorded requests, the default fallbacks, no request left hanging.
   */
  reset(): void;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function completion(model: string, content: string) {
  return {
    id: `chatcmpl-test-${Math.random().toString(36).slice(2, 10)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
  };
}

/** Splits content into a few chunks and writes them as chat.completion.chunk events. */
function stream(res: ServerResponse, model: string, content: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const id = `chatcmpl-test-${Math.random().toString(36).slice(2, 10)}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  res.write(chunk({ role: 'assistant', content: '' }, null));
  const pieces = content.match(/[\s\S]{1,12}/g) ?? [];
  for (const piece of pieces) res.write(chunk({ content: piece }, null));
  res.write(chunk({}, 'stop'));
  res.write(
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: { prompt_tokens: 100, completion_tokens: pieces.length, total_tokens: 100 + pieces.length } })}\n\n`,
  );
  res.end('data: [DONE]\n\n');
}

export async function fakeOpenAI(): Promise<FakeOpenAI> {
  const queue: FakeReply[] = [];
  const requests: ChatRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const transcriptionQueue: FakeTranscriptionReply[] = [];
  const defaultFallback: FakeReply = { status: 500, message: 'no reply scripted' };
  const defaultTranscriptionFallback: FakeTranscriptionReply = { status: 500, message: 'no transcription scripted' };
  const state: FakeOpenAI = {
    baseUrl: '',
    requests,
    reply: (...replies) => void queue.push(...replies),
    fallback: defaultFallback,
    transcriptions: [],
    replyTranscription: (...replies) => void transcriptionQueue.push(...replies),
    transcriptionFallback: defaultTranscriptionFallback,
    reset: () => {
      queue.length = 0;
      transcriptionQueue.length = 0;
      requests.length = 0;
      state.transcriptions.length = 0;
      state.fallback = defaultFallback;
      state.transcriptionFallback = defaultTranscriptionFallback;
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/v1/audio/transcriptions') {
        void transcription(req, res, Buffer.concat(chunks));
        return;
      }
      if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
        send(res, 404, { error: { message: `no route ${req.method} ${url.pathname}`, type: 'invalid_request_error' } });
        return;
      }
      if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
        send(res, 401, { error: { message: 'missing API key', type: 'invalid_request_error', code: 'invalid_api_key' } });
        return;
      }
      let body: ChatRequest['body'];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest['body'];
      } catch {
        send(res, 400, { error: { message: 'malformed JSON', type: 'invalid_request_error' } });
        return;
      }
      requests.push({ path: url.pathname, headers: req.headers, body });
      const reply = queue.shift() ?? state.fallback;
      if ('hang' in reply) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if ('status' in reply) {
        send(res, reply.status, { error: { message: reply.message ?? 'server error', type: 'server_error', code: null } });
        return;
      }
      const content = 'json' in reply ? JSON.stringify(reply.json) : reply.content;
      const answer = () => (body.stream ? stream(res, body.model, content) : send(res, 200, completion(body.model, content)));
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  async function transcription(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
      send(res, 401, { error: { message: 'missing API key', type: 'invalid_request_error', code: 'invalid_api_key' } });
      return;
    }
    let form: FormData;
    try {
      form = await new Request('http://fake/', {
        method: 'POST',
        body: new Uint8Array(raw),
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      }).formData();
    } catch {
      send(res, 400, { error: { message: 'expected multipart/form-data', type: 'invalid_request_error' } });
      return;
    }
    const fields: Record<string, string> = {};
    let file: TranscriptionRequest['file'] = null;
    for (const [key, value] of form) {
      if (typeof value === 'string') fields[key] = value;
      else if (key === 'file') file = { name: value.name, type: value.type, bytes: Buffer.from(await value.arrayBuffer()) };
    }
    state.transcriptions.push({ headers: req.headers, fields, file });
    if (!file || !fields.model) {
      send(res, 400, { error: { message: 'file and model are required', type: 'invalid_request_error' } });
      return;
    }
    const reply = transcriptionQueue.shift() ?? state.transcriptionFallback;
    if ('status' in reply) {
      send(res, reply.status, { error: { message: reply.message ?? 'server error', type: 'server_error', code: null } });
      return;
    }
    const language = reply.language ?? 'english';
    if (fields.response_format === 'verbose_json') {
      const segment = {
        id: 0,
        seek: 0,
        start: 0,
        end: 4.2,
        text: reply.text,
        tokens: [1, 2, 3],
        temperature: 0,
        avg_logprob: -0.2,
        compression_ratio: 1.1,
        no_speech_prob: 0.01,
      };
      send(res, 200, { task: 'transcribe', language, duration: 4.2, text: reply.text, segments: [segment] });
    } else if (fields.response_format === 'text') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(reply.text);
    } else {
      send(res, 200, { text: reply.text, usage: { type: 'duration', seconds: 4 } });
    }
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return state;
}
