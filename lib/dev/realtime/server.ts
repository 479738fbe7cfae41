// A local Supabase Realtime for `npm run dev`: the websocket `/realtime/v1/websocket` and the REST
// broadcast endpoints `/realtime/v1/api/broadcast`, speaking what realtime-js 2.x speaks, authorizing
// channels the way Realtime does (./authorize.ts: the same RLS policies on realtime.messages) and
// delivering the broadcasts the API writes once their transaction commits (./feed.ts). Broadcast and
// Presence only (no Postgres Changes: the app never uses them). Production keeps Supabase's Realtime.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import * as z from 'zod';
import { config } from '../../config.js';
import type { Sql } from '../../db/client.js';
import { log } from '../../log.js';
import { expMessage, probePolicies, resolveToken, type Policies, type TokenClaims } from './authorize.js';
import { startFeed, type Feed, type MessageRow } from './feed.js';
import { decodeFrame, encodeBroadcast, encodeFrame, WireError, type Frame, type Vsn } from './wire.js';

export const WEBSOCKET_PATH = '/realtime/v1/websocket';
export const BROADCAST_PATH = '/realtime/v1/api/broadcast';
/** Realtime re-checks a token at least this often (its confirm_token timer is capped at one hour). */
const MAX_TOKEN_TIMER_MS = 60 * 60 * 1000;

interface Connection {
  ws: WebSocket;
  vsn: Vsn;
  apikey: string | null;
  channels: Map<string, Channel>;
  queue: Promise<void>;
}

interface Channel {
  conn: Connection;
  /** `realtime:` + topic, as on the wire. */
  wireTopic: string;
  topic: string;
  joinRef: string | null;
  isPrivate: boolean;
  self: boolean;
  ack: boolean;
  presenceKey: string;
  presenceEnabled: boolean;
  token: string | null;
  claims: TokenClaims;
  policies: Policies;
  timer?: NodeJS.Timeout;
  tracked?: Record<string, unknown> & { phx_ref: string };
  closed: boolean;
}

export interface LocalRealtime {
  /** Answers `/realtime/v1/api/broadcast…`; undefined for any other path. */
  fetch(request: Request): Promise<Response | undefined>;
  /** Resolves once every committed broadcast noticed so far has gone out. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

const joinConfig = z
  .object({
    broadcast: z.object({ self: z.boolean().optional(), ack: z.boolean().optional() }).partial().nullish(),
    presence: z.object({ key: z.string().nullish(), enabled: z.boolean().optional() }).partial().nullish(),
    private: z.boolean().nullish(),
  })
  .passthrough();

const restMessages = z.object({
  messages: z
    .array(
      z.object({
        topic: z.string().min(1).max(255),
        event: z.string().min(1).max(255),
        payload: z.unknown().optional(),
        private: z.boolean().optional(),
      }),
    )
    .min(1)
    .max(100),
});

/**
 * The serializer for the `vsn` a client asks for, as Phoenix.Socket picks it: absent means 1.0.0,
 * Realtime serves `~> 1.0.0` and `~> 2.0.0`; anything else has none (null: the connection is refused).
 */
export function negotiateVsn(vsn: string | null): Vsn | null {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(vsn ?? '1.0.0');
  if (!m || m[2] !== '0') return null;
  return m[1] === '1' ? '1.0.0' : m[1] === '2' ? '2.0.0' : null;
}

let refs = 0;
const nextRef = () => `${Date.now().toString(36)}${(++refs).toString(36)}`;

export async function startLocalRealtime(options: { server: Server; sql: Sql; engine: 'pglite' | 'postgres' }): Promise<LocalRealtime> {
  const { sql } = options;
  const byTopic = new Map<string, Set<Channel>>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  const send = (conn: Connection, data: string | Buffer | null) => {
    if (data !== null && conn.ws.readyState === conn.ws.OPEN) conn.ws.send(data);
  };
  const push = (ch: Channel, event: string, payload: unknown, ref: string | null = null) =>
    send(ch.conn, encodeFrame(ch.conn.vsn, { joinRef: ch.joinRef, ref, topic: ch.wireTopic, event, payload }));
  const reply = (conn: Connection, frame: Frame, status: 'ok' | 'error', response: unknown = {}) =>
    send(conn, encodeFrame(conn.vsn, { joinRef: frame.joinRef, ref: frame.ref, topic: frame.topic, event: 'phx_reply', payload: { status, response } }));

  /** Phoenix.Socket's answer to a message for a topic it has no channel for: no join ref. */
  const unmatched = (conn: Connection, frame: Frame) => reply(conn, { ...frame, joinRef: null }, 'error', { reason: 'unmatched topic' });

  const peers = (topic: string) => [...(byTopic.get(topic) ?? [])].filter((c) => !c.closed);

  const broadcastTo = (
    topic: string,
    isPrivate: boolean,
    b: { event: string; payload: unknown; binary?: Uint8Array; meta?: Record<string, unknown> },
    from?: Channel,
  ) => {
    for (const ch of peers(topic)) {
      if (ch.isPrivate !== isPrivate || !ch.policies.broadcastRead) continue;
      if (ch === from && !ch.self) continue;
      send(ch.conn, encodeBroadcast(ch.conn.vsn, { topic: ch.wireTopic, ...b }));
    }
  };

  // ---- presence: Phoenix.Presence's shapes, { key: { metas: [{ phx_ref, ...payload }] } }
  const presenceState = (topic: string) => {
    const state: Record<string, { metas: unknown[] }> = {};
    for (const ch of peers(topic)) if (ch.tracked) (state[ch.presenceKey] ??= { metas: [] }).metas.push(ch.tracked);
    return state;
  };
  const presenceDiff = (topic: string, joins: Record<string, { metas: unknown[] }>, leaves: Record<string, { metas: unknown[] }>) => {
    for (const ch of peers(topic)) if (ch.presenceEnabled && ch.policies.presenceRead) push(ch, 'presence_diff', { joins, leaves });
  };
  const untrack = (ch: Channel) => {
    const old = ch.tracked;
    if (!old) return;
    ch.tracked = undefined;
    presenceDiff(ch.topic, {}, { [ch.presenceKey]: { metas: [old] } });
  };

  const remove = (ch: Channel) => {
    if (ch.closed) return;
    clearTimeout(ch.timer);
    const old = ch.tracked;
    ch.closed = true;
    ch.conn.channels.delete(ch.wireTopic);
    byTopic.get(ch.topic)?.delete(ch);
    if (byTopic.get(ch.topic)?.size === 0) byTopic.delete(ch.topic);
    if (old) presenceDiff(ch.topic, {}, { [ch.presenceKey]: { metas: [old] } });
  };

  /** As Realtime's shutdown_response: a `system` error naming the reason, then the channel closes. */
  const shutdown = (ch: Channel, message: string) => {
    if (ch.closed) return;
    push(ch, 'system', { extension: 'system', status: 'error', message, channel: ch.topic });
    push(ch, 'phx_close', {}, ch.joinRef);
    remove(ch);
  };

  const scheduleExpiry = (ch: Channel) => {
    clearTimeout(ch.timer);
    const exp = ch.claims.exp;
    if (typeof exp !== 'number') return;
    const ms = Math.min(exp * 1000 - Date.now(), MAX_TOKEN_TIMER_MS);
    ch.timer = setTimeout(
      () => {
        if (exp * 1000 <= Date.now()) shutdown(ch, expMessage(exp));
        else scheduleExpiry(ch);
      },
      Math.max(0, ms),
    );
    ch.timer.unref();
  };

  // ---- client messages
  const join = async (conn: Connection, frame: Frame) => {
    const fail = (code: string, message: string) => reply(conn, frame, 'error', { reason: `${code}: ${message}` });
    // A join of a topic already joined on this socket closes the old channel first (Phoenix.Socket:
    // `phx_close` to the old join ref), then is handled as a new join.
    const existing = conn.channels.get(frame.topic);
    if (existing) {
      push(existing, 'phx_close', {}, existing.joinRef);
      remove(existing);
    }
    // Realtime routes only `realtime:*` to its channel; Phoenix ignores any other topic.
    if (!frame.topic.startsWith('realtime:')) return unmatched(conn, frame);
    if (frame.topic === 'realtime:') return fail('TopicNameRequired', 'You must provide a topic name');
    const topic = frame.topic.slice('realtime:'.length);
    const params = (frame.payload ?? {}) as Record<string, unknown>;
    const parsed = joinConfig.safeParse(params.config ?? {});
    const cfg = parsed.success ? parsed.data : {};
    if (cfg.private !== true) return fail('PrivateOnly', 'This project only allows private channels');
    const rawToken =
      (typeof params.access_token === 'string' && params.access_token) || (typeof params.user_token === 'string' && params.user_token) || conn.apikey;
    const token = await resolveToken(rawToken);
    if (!token.ok) return fail(token.code, token.message);
    const policies = await probePolicies(sql, topic, token.claims, true);
    if (!policies.broadcastRead && !policies.presenceRead) return fail('Unauthorized', `You do not have permissions to read from this Channel topic: ${topic}`);
    const ch: Channel = {
      conn,
      wireTopic: frame.topic,
      topic,
      joinRef: frame.joinRef ?? frame.ref,
      isPrivate: true,
      self: cfg.broadcast?.self === true,
      ack: cfg.broadcast?.ack === true,
      presenceKey: cfg.presence?.key || randomUUID(),
      presenceEnabled: cfg.presence?.enabled === true,
      token: token.token,
      claims: token.claims,
      policies,
      closed: false,
    };
    conn.channels.set(frame.topic, ch);
    let set = byTopic.get(topic);
    if (!set) byTopic.set(topic, (set = new Set()));
    set.add(ch);
    scheduleExpiry(ch);
    reply(conn, frame, 'ok', { postgres_changes: [] });
    if (ch.presenceEnabled && policies.presenceRead) push(ch, 'presence_state', presenceState(topic));
  };

  const onBroadcast = (ch: Channel, frame: Frame) => {
    const p = (frame.payload ?? {}) as { event?: unknown; payload?: unknown; binary?: Uint8Array };
    if (typeof p.event !== 'string') return;
    // Refused without a word, ack or not (Realtime's BroadcastHandler: `{:noreply, socket}`), so the
    // client's `send` resolves 'timed out'.
    if (!ch.policies.broadcastWrite) return;
    broadcastTo(ch.topic, ch.isPrivate, { event: p.event, payload: p.payload, binary: p.binary }, ch);
    if (ch.ack) reply(ch.conn, frame, 'ok');
  };

  const onPresence = (ch: Channel, frame: Frame) => {
    const p = (frame.payload ?? {}) as { event?: unknown; payload?: unknown };
    const event = typeof p.event === 'string' ? p.event.toLowerCase() : '';
    if (event === 'untrack') {
      untrack(ch);
      return reply(ch.conn, frame, 'ok');
    }
    if (event !== 'track') return reply(ch.conn, frame, 'error');
    if (!ch.policies.presenceWrite) return reply(ch.conn, frame, 'error');
    const payload = p.payload ?? {};
    if (typeof payload !== 'object' || Array.isArray(payload) || payload === null) {
      return reply(ch.conn, frame, 'error', { reason: 'Presence track payload must be a map' });
    }
    const old = ch.tracked;
    const meta = { ...(payload as Record<string, unknown>), phx_ref: nextRef(), ...(old ? { phx_ref_prev: old.phx_ref } : {}) };
    ch.tracked = meta;
    const enabling = !ch.presenceEnabled;
    ch.presenceEnabled = true;
    reply(ch.conn, frame, 'ok');
    presenceDiff(ch.topic, { [ch.presenceKey]: { metas: [meta] } }, old ? { [ch.presenceKey]: { metas: [old] } } : {});
    // A track that enables presence never had the join-time state: send it now, as Realtime does.
    if (enabling && ch.policies.presenceRead) push(ch, 'presence_state', presenceState(ch.topic));
  };

  /** A new access token: verified and the policies probed again; a read it lost closes the channel. */
  const onAccessToken = async (ch: Channel, frame: Frame) => {
    const raw = (frame.payload as { access_token?: unknown } | null)?.access_token;
    if (typeof raw !== 'string' || raw.startsWith('sb_') || raw === ch.token) return;
    const token = await resolveToken(raw);
    if (!token.ok) return shutdown(ch, token.message);
    const policies = await probePolicies(sql, ch.topic, token.claims, ch.isPrivate);
    if ((ch.policies.broadcastRead && !policies.broadcastRead) || (ch.policies.presenceRead && !policies.presenceRead)) {
      return shutdown(ch, `You no longer have permission to read from this Channel topic: ${ch.topic}`);
    }
    Object.assign(ch, { token: token.token, claims: token.claims, policies });
    scheduleExpiry(ch);
  };

  // Phoenix.Socket's handle_in, clause by clause.
  const handle = async (conn: Connection, frame: Frame) => {
    if (frame.topic === 'phoenix' && frame.event === 'heartbeat') return reply(conn, { ...frame, joinRef: null }, 'ok');
    if (frame.event === 'phx_join') return join(conn, frame);
    const ch = conn.channels.get(frame.topic);
    if (!ch) {
      // Leaving a topic not joined (or already closed by the server) is fine; anything else is not.
      return frame.event === 'phx_leave' ? reply(conn, frame, 'ok') : unmatched(conn, frame);
    }
    // A message to an earlier join of this topic is stale: ignored (a missing join ref is accepted).
    if (frame.joinRef !== null && frame.joinRef !== ch.joinRef) return;
    switch (frame.event) {
      case 'phx_leave':
        // The channel answers, stops, and the socket tells the client it closed.
        reply(conn, frame, 'ok');
        push(ch, 'phx_close', {}, ch.joinRef);
        return remove(ch);
      case 'broadcast':
        return onBroadcast(ch, frame);
      case 'presence':
        return onPresence(ch, frame);
      case 'access_token':
        return onAccessToken(ch, frame);
      default:
        return; // Realtime logs and ignores anything else
    }
  };

  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const vsn = negotiateVsn(url.searchParams.get('vsn'))!;
    const conn: Connection = { ws, vsn, apikey: url.searchParams.get('apikey'), channels: new Map(), queue: Promise.resolve() };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      let frame: Frame;
      try {
        frame = decodeFrame(vsn, Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), isBinary);
      } catch (error) {
        if (error instanceof WireError) return ws.close(1003, error.message.slice(0, 120));
        throw error;
      }
      // One message at a time per socket, in arrival order (a join's probes finish before what follows it).
      conn.queue = conn.queue
        .then(() => handle(conn, frame))
        .catch((error: unknown) => {
          log.error('local realtime: message failed', { error, event: frame.event, topic: frame.topic });
          reply(conn, frame, 'error', { reason: 'UnknownErrorOnChannel: Unknown Error on Channel' });
        });
    });
    ws.on('close', () => {
      for (const ch of [...conn.channels.values()]) remove(ch);
    });
    ws.on('error', () => ws.terminate());
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname.replace(/\/+$/, '') !== WEBSOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    // Phoenix refuses the connection (403) when no serializer matches the version asked for.
    if (!negotiateVsn(url.searchParams.get('vsn'))) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  options.server.on('upgrade', onUpgrade);

  const deliver = (row: MessageRow) => broadcastTo(row.topic, row.private, { event: row.event, payload: row.payload, meta: { id: row.id } });
  const feed: Feed = await startFeed(sql, options.engine, deliver);

  // ---- REST: POST /realtime/v1/api/broadcast and /realtime/v1/api/broadcast/{topic}/events/{event}
  const cors = (request: Request): Record<string, string> => {
    const origin = request.headers.get('origin');
    if (!origin || !config().corsOrigins.includes(origin)) return {};
    return { 'access-control-allow-origin': origin, vary: 'Origin' };
  };
  const answer = (request: Request, status: number, body?: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { ...cors(request), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });

  const restBroadcast = async (request: Request): Promise<Response | undefined> => {
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, '');
    const single = /^\/realtime\/v1\/api\/broadcast\/([^/]+)\/events\/([^/]+)$/.exec(path);
    if (path !== BROADCAST_PATH && !single) return undefined;
    if (request.method === 'OPTIONS') {
      return new Response(null, {
        status: 204,
        headers: {
          ...cors(request),
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': 'apikey, authorization, content-type, x-client-info',
        },
      });
    }
    if (request.method !== 'POST') return answer(request, 405, { message: `${request.method} is not allowed on ${path}` });
    // Realtime's AuthTenant plug verifies the bearer (else the apikey) as a JWT: anything else is a 401.
    // Locally the `apikey` alone stands for the project's anon key (anonymous), as does a publishable
    // `sb_…` bearer (Supabase's gateway swaps it for the anon JWT).
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
    if (bearer && !bearer.startsWith('sb_') && bearer.split('.').length !== 3) {
      return answer(request, 401, { message: 'Unauthorized: the bearer token is not a JWT' });
    }
    const presented = bearer ?? request.headers.get('apikey');
    if (!presented) return answer(request, 401, { message: 'Unauthorized: no bearer token or apikey' });
    const token = await resolveToken(presented);
    if (!token.ok) return answer(request, 401, { message: `${token.code}: ${token.message}` });

    let messages: { topic: string; event: string; payload?: unknown; binary?: Uint8Array; private?: boolean }[];
    if (single) {
      const bytes = new Uint8Array(await request.arrayBuffer());
      const isJson = !(request.headers.get('content-type') ?? '').includes('octet-stream');
      let payload: unknown;
      if (isJson) {
        try {
          payload = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          return answer(request, 400, { message: 'body: not valid JSON' });
        }
      }
      const isPrivate = url.searchParams.get('private') === 'true';
      messages = [
        { topic: decodeURIComponent(single[1]!), event: decodeURIComponent(single[2]!), payload, binary: isJson ? undefined : bytes, private: isPrivate },
      ];
    } else {
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return answer(request, 400, { message: 'body: not valid JSON' });
      }
      const parsed = restMessages.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return answer(request, 422, { message: `body.${issue.path.join('.')}: ${issue.message}` });
      }
      messages = parsed.data.messages;
    }
    // Realtime drops the messages of topics the token may not write to (and public ones here: private only).
    const writable = new Map<string, Promise<boolean>>();
    for (const m of messages) {
      if (m.private !== true) continue;
      let allowed = writable.get(m.topic);
      if (!allowed) writable.set(m.topic, (allowed = probePolicies(sql, m.topic, token.claims, true).then((p) => p.broadcastWrite)));
      if (await allowed) broadcastTo(m.topic, true, { event: m.event, payload: m.payload ?? {}, binary: m.binary });
    }
    return answer(request, 202);
  };

  return {
    fetch: restBroadcast,
    drained: () => feed.drained(),
    async stop() {
      options.server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.terminate();
      wss.close();
      await feed.stop();
    },
  };
}
