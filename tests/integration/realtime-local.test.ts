// The dev server's local Supabase Realtime, driven by the pinned @supabase/supabase-js (on Node.js 20
// with the `ws` transport) exactly as the web app would drive Supabase: server events after commit,
// RLS-authorized joins, presence and typing on live topics, token expiry and refresh.
import { randomUUID } from 'node:crypto';
import { createClient, type RealtimeChannel, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../lib/http/auth.js';
import { startDevServer, type DevServer } from '../../lib/dev/server.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
let dev: DevServer;
let base: string;
const clients: SupabaseClient[] = [];

beforeAll(async () => {
  db = await testDatabase({ seed: false });
  dev = await startDevServer({ sql: db.sql, engine: db.engine, port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${dev.port}`;
});

afterAll(async () => {
  for (const c of clients) await c.removeAllChannels();
  await dev?.close();
  await db?.close();
});

interface Received {
  event: string;
  payload: any;
  meta?: { id: string };
  /** When the client's handler ran (Date.now()). */
  at: number;
}

function client(token: string | (() => string), options: { vsn?: '1.0.0' | '2.0.0' } = {}): SupabaseClient {
  const c = createClient(base, 'local', {
    accessToken: async () => (typeof token === 'function' ? token() : token),
    realtime: { transport: WebSocket as never, ...(options.vsn ? { vsn: options.vsn } : {}) },
  });
  clients.push(c);
  return c;
}

/** Waits (bounded) until check() holds; the bound only keeps a broken build from hanging. */
async function until<T>(check: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Joined {
  channel: RealtimeChannel;
  broadcasts: Received[];
  system: any[];
  statuses: string[];
  errors: string[];
}

/** Creates a private channel that records every broadcast and system message, and subscribes it. */
async function join(c: SupabaseClient, topic: string, config: Record<string, unknown> = {}, expected = 'SUBSCRIBED'): Promise<Joined> {
  const j: Joined = { channel: c.channel(topic, { config: { private: true, ...config } }), broadcasts: [], system: [], statuses: [], errors: [] };
  j.channel.on('broadcast', { event: '*' }, (m) => j.broadcasts.push({ ...(m as unknown as Omit<Received, 'at'>), at: Date.now() }));
  j.channel.on('system', {}, (m) => j.system.push(m));
  if ((config.presence as { key?: string } | undefined)?.key) j.channel.on('presence', { event: 'sync' }, () => {});
  // As the web app must: the token first, or the first join goes out anonymous (refused, retried later).
  await c.realtime.setAuth();
  j.channel.subscribe((status, err) => {
    j.statuses.push(status);
    if (err) j.errors.push(err.message);
  });
  await until(() => j.statuses.length > 0, `${topic} to answer the join`);
  expect(j.statuses[0], `join of ${topic}: ${j.errors.join('; ')}`).toBe(expected);
  return j;
}

async function newThread(org: TestOrg): Promise<string> {
  const res = await org.json('POST', '/api/threads', { body: { subject: `Live ${randomUUID().slice(0, 8)}` } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function api(token: string, method: string, path: string, body?: unknown) {
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('local realtime: server events', () => {
  it('delivers thread.updated to a member after a PATCH through the dev server', async () => {
    const org = await newOrganization(db.sql);
    const threadId = await newThread(org);
    const member = await join(client(await org.token('agent')), `org:${org.id}:thread:${threadId}`);
    const token = await org.token('agent');
    const res = await api(token, 'PATCH', `/api/threads/${threadId}`, { priority: 'high' });
    const answered = Date.now();
    expect(res.status).toBe(200);
    const got = await until(() => member.broadcasts.find((b) => b.event === 'thread.updated'), 'thread.updated');
    // The requirement: the member hears the change within 1 s of the PATCH's answer (the
    // event is committed before the answer goes out, so it may even arrive first). Locally this is a
    // NOTIFY and one read, a few milliseconds; the second is the margin for a loaded machine.
    const latency = got.at - answered;
    if (process.env.REALTIME_LATENCY) console.log(`[${db.engine}] thread.updated ${latency} ms after the PATCH answered`);
    expect(latency).toBeLessThan(1000);
    expect(got.payload).toMatchObject({ event: 'thread.updated', orgId: org.id, data: { id: threadId, priority: 'high' } });
    expect(got.meta?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses the thread topic to a member of another organization, who then receives nothing', async () => {
    const org = await newOrganization(db.sql);
    const other = await newOrganization(db.sql);
    const threadId = await newThread(org);
    const topic = `org:${org.id}:thread:${threadId}`;
    const outsider = await join(client(await other.token('owner')), topic, {}, 'CHANNEL_ERROR');
    expect(outsider.errors[0]).toContain(`Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`);
    const member = await join(client(await org.token('viewer')), topic);
    await api(await org.token('agent'), 'PATCH', `/api/threads/${threadId}`, { priority: 'low' });
    await until(() => member.broadcasts.some((b) => b.event === 'thread.updated'), 'the member to hear the PATCH');
    // Delivery goes to every channel of a topic at once: the member heard it, the outsider never will.
    expect(outsider.broadcasts).toEqual([]);
  });

  it('refuses anonymous and public channels: the access token decides', async () => {
    const org = await newOrganization(db.sql);
    const anonymous = await join(client('not-a-jwt'), `org:${org.id}`, {}, 'CHANNEL_ERROR');
    expect(anonymous.errors[0]).toContain('Unauthorized');
    const c = client(await org.token('agent'));
    const pub = await join(c, `org:${org.id}`, { private: false }, 'CHANNEL_ERROR');
    expect(pub.errors[0]).toContain('PrivateOnly');
  });

  it('delivers one transaction in order, and never what was rolled back', async () => {
    const org = await newOrganization(db.sql);
    const topic = `org:${org.id}`;
    const token = await org.token('agent');
    const v2 = await join(client(token), topic);
    const v1 = await join(client(token, { vsn: '1.0.0' }), topic);
    const send = (tx: typeof db.sql, event: string, n: number) =>
      tx`select realtime.send(${tx.json({ event, orgId: org.id, actorId: null, at: new Date().toISOString(), data: { n } })}::jsonb, ${event}, ${topic}, true)`;
    await db.sql.begin(async (tx) => {
      for (let n = 1; n <= 5; n++) await send(tx as never, 'test.ordered', n);
    });
    await expect(
      db.sql.begin(async (tx) => {
        await send(tx as never, 'test.rolled_back', 0);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await db.sql.begin(async (tx) => send(tx as never, 'test.marker', 6));
    for (const j of [v2, v1]) {
      await until(() => j.broadcasts.some((b) => b.event === 'test.marker'), 'the marker');
      expect(j.broadcasts.map((b) => `${b.event}:${b.payload.data.n}`)).toEqual([
        'test.ordered:1',
        'test.ordered:2',
        'test.ordered:3',
        'test.ordered:4',
        'test.ordered:5',
        'test.marker:6',
      ]);
    }
  });
});

describe('local realtime: presence and typing on live topics', () => {
  it('shows two members each other and relays typing, on the thread live topic', async () => {
    const org = await newOrganization(db.sql);
    const threadId = await newThread(org);
    const topic = `org:${org.id}:thread:${threadId}:live`;
    const agent = await join(client(await org.token('agent')), topic, { presence: { key: org.users.agent.id } });
    const manager = await join(client(await org.token('manager')), topic, { presence: { key: org.users.manager.id } });
    expect(await agent.channel.track({ userId: org.users.agent.id, displayName: org.users.agent.name, state: 'viewing' })).toBe('ok');
    expect(await manager.channel.track({ userId: org.users.manager.id, displayName: org.users.manager.name, state: 'composing' })).toBe('ok');
    for (const j of [agent, manager]) {
      await until(() => Object.keys(j.channel.presenceState()).length === 2, 'both members present');
      expect(j.channel.presenceState()[org.users.manager.id]).toEqual([expect.objectContaining({ state: 'composing', displayName: org.users.manager.name })]);
      expect(j.channel.presenceState()[org.users.agent.id]).toEqual([expect.objectContaining({ state: 'viewing' })]);
    }
    // Typing: a broadcast on the live topic (not echoed to the sender without broadcast.self).
    expect(await agent.channel.send({ type: 'broadcast', event: 'typing', payload: { userId: org.users.agent.id, threadId, typing: true } })).toBe('ok');
    const typing = await until(() => manager.broadcasts.find((b) => b.event === 'typing'), 'typing');
    expect(typing.payload).toEqual({ userId: org.users.agent.id, threadId, typing: true });
    // The REST fallback (httpSend) reaches the same channels.
    const rest = await manager.channel.httpSend('typing', { userId: org.users.manager.id, threadId, typing: false });
    expect(rest).toEqual({ success: true });
    await until(() => agent.broadcasts.find((b) => b.event === 'typing'), 'typing over REST');
    expect(agent.broadcasts.map((b) => b.payload.userId)).toEqual([org.users.manager.id]);
    // Leaving drops the member from the other's presence.
    await agent.channel.unsubscribe();
    await until(() => Object.keys(manager.channel.presenceState()).length === 1, 'the agent to leave');
  });

  it('lets a viewer be present but not type, and refuses the live topic to outsiders', async () => {
    const org = await newOrganization(db.sql);
    const other = await newOrganization(db.sql);
    const topic = `org:${org.id}:live`;
    const agent = await join(client(await org.token('agent')), topic, { presence: { key: org.users.agent.id } });
    const viewer = await join(client(await org.token('viewer')), topic, { presence: { key: org.users.viewer.id }, broadcast: { ack: true } });
    expect(await viewer.channel.track({ userId: org.users.viewer.id, displayName: org.users.viewer.name, state: 'viewing' })).toBe('ok');
    await until(() => agent.channel.presenceState()[org.users.viewer.id], 'the viewer to be present');
    // Refused without an answer, even with ack (as Realtime's BroadcastHandler): the send times out.
    expect(await viewer.channel.send({ type: 'broadcast', event: 'typing', payload: { userId: org.users.viewer.id } }, { timeout: 500 })).toBe('timed out');
    await join(client(await other.token('owner')), topic, {}, 'CHANNEL_ERROR');
    // Under this organization's prefix, a thread of another organization is nobody's to write on
    // (reading an empty topic of one's own organization is harmless, and allowed as before).
    const foreignThread = await newThread(other);
    const stray = await join(client(await org.token('owner')), `org:${org.id}:thread:${foreignThread}:live`, { broadcast: { ack: true } });
    expect(await stray.channel.track({ state: 'viewing' })).toBe('error');
    expect(await stray.channel.send({ type: 'broadcast', event: 'typing', payload: {} }, { timeout: 500 })).toBe('timed out');
    // A typing mark the manager sends afterwards arrives alone: the refused ones never went out.
    const manager = await join(client(await org.token('manager')), topic, { broadcast: { ack: true } });
    expect(await manager.channel.send({ type: 'broadcast', event: 'typing', payload: { userId: org.users.manager.id } })).toBe('ok');
    await until(() => agent.broadcasts.length > 0, 'the manager typing');
    expect(agent.broadcasts.map((b) => b.payload)).toEqual([{ userId: org.users.manager.id }]);
  });

  it('never lets a client write to a server topic', async () => {
    const org = await newOrganization(db.sql);
    const threadId = await newThread(org);
    const topic = `org:${org.id}:thread:${threadId}`;
    const listener = await join(client(await org.token('agent')), topic);
    const writer = await join(client(await org.token('owner')), topic, { broadcast: { ack: true }, presence: { key: 'x' } });
    expect(await writer.channel.send({ type: 'broadcast', event: 'thread.updated', payload: { forged: true } }, { timeout: 500 })).toBe('timed out');
    expect(await writer.channel.track({ state: 'typing' })).toBe('error');
    // Neither the batch REST endpoint.
    const res = await fetch(`${base}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await org.token('owner')}`, apikey: 'local', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ topic, event: 'thread.updated', payload: { forged: true }, private: true }] }),
    });
    expect(res.status).toBe(202);
    await api(await org.token('agent'), 'PATCH', `/api/threads/${threadId}`, { priority: 'urgent' });
    await until(() => listener.broadcasts.some((b) => b.event === 'thread.updated'), 'the real event');
    // Only the server's own events arrive (the thread's creation may still be on its way too): none forged.
    expect(listener.broadcasts.filter((b) => b.payload.forged)).toEqual([]);
  });

  it('delivers the batch REST broadcast on a live topic, and refuses an expired token', async () => {
    const org = await newOrganization(db.sql);
    const topic = `org:${org.id}:live`;
    const listener = await join(client(await org.token('manager')), topic);
    const res = await fetch(`${base}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await org.token('agent')}`, apikey: 'local', 'content-type': 'application/json' },
      body: JSON.stringify({
        messages: [
          { topic: `org:${org.id}`, event: 'typing', payload: { n: 1 }, private: true },
          { topic, event: 'typing', payload: { n: 2 }, private: true },
        ],
      }),
    });
    expect(res.status).toBe(202);
    await until(() => listener.broadcasts.length > 0, 'the REST broadcast');
    expect(listener.broadcasts.map((b) => [b.event, b.payload])).toEqual([['typing', { n: 2 }]]);
    const expired = await signAccessToken(org.users.agent, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const refused = await fetch(`${base}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${expired}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ topic, event: 'typing', payload: {}, private: true }] }),
    });
    expect(refused.status).toBe(401);
  });

  it('names the field of a bad REST broadcast', async () => {
    const org = await newOrganization(db.sql);
    const res = await fetch(`${base}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await org.token('agent')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ event: 'typing', payload: {} }] }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toContain('body.messages.0.topic');
  });
});

describe('local realtime: tokens', () => {
  it('closes the channel when its token expires, with a system error first', async () => {
    const org = await newOrganization(db.sql);
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = await signAccessToken(org.users.agent, { expiresIn: exp });
    const j = await join(client(token), `org:${org.id}`);
    await until(() => j.statuses.includes('CLOSED'), 'the channel to close', 15_000);
    expect(j.system).toEqual([
      expect.objectContaining({ extension: 'system', status: 'error', message: expect.stringMatching(/^Token has expired \d+ seconds ago$/) }),
    ]);
    const again = await join(client(token), `org:${org.id}`, {}, 'CHANNEL_ERROR');
    expect(again.errors[0]).toMatch(/InvalidJWTToken: Token has expired/);
  });

  it('re-authorizes on a token refresh: a removed member loses the channel then', async () => {
    const org = await newOrganization(db.sql);
    let token = await org.token('agent');
    const c = client(() => token);
    const j = await join(c, `org:${org.id}`);
    await db.sql`update app.members set status = 'disabled' where org_id = ${org.id} and user_id = ${org.users.agent.id}`;
    token = await signAccessToken(org.users.agent, { expiresIn: '1h' });
    await c.realtime.setAuth(token);
    await until(() => j.statuses.includes('CLOSED'), 'the channel to close');
    expect(j.system[0]).toMatchObject({ status: 'error', message: `You no longer have permission to read from this Channel topic: org:${org.id}` });
  });
});

describe('local realtime: authorization probes', () => {
  it('leaves no row behind and delivers nothing: a refused join, an accepted join, a token refresh', async () => {
    const org = await newOrganization(db.sql);
    const other = await newOrganization(db.sql);
    const threadId = await newThread(org);
    const topic = `org:${org.id}:thread:${threadId}`;
    await dev.realtime.drained();
    const count = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from realtime.messages where topic = ${topic}`)[0]!.n;
    const before = await count();
    await join(client(await other.token('owner')), topic, {}, 'CHANNEL_ERROR');
    let token = await org.token('agent');
    const c = client(() => token);
    const member = await join(c, topic);
    const refreshed = await signAccessToken(org.users.agent, { expiresIn: '2h' });
    expect(refreshed).not.toBe(token); // a token the channel already has is not probed again
    token = refreshed;
    await c.realtime.setAuth(token);
    // The server takes a socket's messages one at a time, in order: the leave is answered only
    // after the refresh was probed, and the refresh kept the channel (no system message).
    expect(await member.channel.unsubscribe()).toBe('ok');
    await dev.realtime.drained();
    expect(await count()).toBe(before);
    expect(member.system).toEqual([]);
    expect(member.broadcasts).toEqual([]);
  });
});

/** A bare websocket speaking Phoenix by hand: what it received, decoded (a server broadcast as `{ broadcast }`). */
class RawSocket {
  readonly frames: any[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return this.frames.push(JSON.parse(data.toString('utf8')));
      // Kind 4: [4, topic len, event len, metadata len, encoding, topic, event, metadata, payload].
      const [topicLen, eventLen] = [data[1]!, data[2]!];
      this.frames.push({
        broadcast: { topic: data.subarray(5, 5 + topicLen).toString(), event: data.subarray(5 + topicLen, 5 + topicLen + eventLen).toString() },
      });
    });
  }

  static open(query: string): Promise<RawSocket> {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/realtime/v1/websocket?apikey=local${query}`);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawSocket(ws)));
      ws.once('error', reject);
    });
  }

  send(frame: unknown) {
    this.ws.send(JSON.stringify(frame));
  }

  /** The next frame (from `from` on) that matches, waiting for it. */
  async next(match: (f: any) => boolean, what: string, from = 0): Promise<any> {
    return until(() => this.frames.slice(from).find(match), what);
  }

  close() {
    this.ws.close();
  }
}

describe('local realtime: the Phoenix protocol, frame by frame', () => {
  const joinPayload = (token: string) => ({
    config: { broadcast: { ack: false, self: false }, presence: { key: '', enabled: false }, private: true },
    access_token: token,
  });
  const reply = (ref: string) => (f: any) => Array.isArray(f) && f[1] === ref && f[3] === 'phx_reply';
  const emit = (topic: string, event: string) =>
    db.sql`select realtime.send(${db.sql.json({ event, at: new Date().toISOString(), data: {} })}::jsonb, ${event}, ${topic}, true)`;
  const broadcasts = (s: RawSocket) => s.frames.filter((f) => f.broadcast).map((f) => `${f.broadcast.topic} ${f.broadcast.event}`);

  it('answers a heartbeat on `phoenix`, and refuses a topic outside `realtime:` as Phoenix does', async () => {
    const s = await RawSocket.open('&vsn=2.0.0');
    s.send([null, '1', 'phoenix', 'heartbeat', {}]);
    expect(await s.next(reply('1'), 'the heartbeat reply')).toEqual([null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    // Realtime routes only `realtime:*` to its channel: Phoenix answers anything else without a join ref.
    s.send(['2', '2', 'org:x', 'phx_join', joinPayload('t')]);
    expect(await s.next(reply('2'), 'the join reply')).toEqual([null, '2', 'org:x', 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]);
    s.send(['3', '3', 'realtime:never-joined', 'broadcast', { type: 'broadcast', event: 'x', payload: {} }]);
    expect(await s.next(reply('3'), 'the push reply')).toEqual([
      null,
      '3',
      'realtime:never-joined',
      'phx_reply',
      { status: 'error', response: { reason: 'unmatched topic' } },
    ]);
    s.send(['4', '4', 'realtime:', 'phx_join', joinPayload('t')]);
    expect((await s.next(reply('4'), 'the empty topic reply'))[4]).toEqual({
      status: 'error',
      response: { reason: 'TopicNameRequired: You must provide a topic name' },
    });
    s.close();
  });

  it('leaves a channel on phx_leave (ok, then phx_close) and delivers nothing more to it', async () => {
    const org = await newOrganization(db.sql);
    const token = await org.token('agent');
    const [left, kept] = [`org:${org.id}`, `org:${org.id}:live`];
    const s = await RawSocket.open('&vsn=2.0.0');
    s.send(['1', '1', `realtime:${left}`, 'phx_join', joinPayload(token)]);
    s.send(['2', '2', `realtime:${kept}`, 'phx_join', joinPayload(token)]);
    expect((await s.next(reply('1'), 'join 1'))[4].status).toBe('ok');
    expect((await s.next(reply('2'), 'join 2'))[4].status).toBe('ok');
    const mark = s.frames.length;
    s.send(['1', '3', `realtime:${left}`, 'phx_leave', {}]);
    expect(await s.next(reply('3'), 'the leave reply', mark)).toEqual(['1', '3', `realtime:${left}`, 'phx_reply', { status: 'ok', response: {} }]);
    expect(await s.next((f) => Array.isArray(f) && f[3] === 'phx_close', 'phx_close', mark)).toEqual(['1', '1', `realtime:${left}`, 'phx_close', {}]);
    // Leaving again (a topic not joined) is still an ok.
    s.send(['1', '4', `realtime:${left}`, 'phx_leave', {}]);
    expect((await s.next(reply('4'), 'the second leave'))[4]).toEqual({ status: 'ok', response: {} });
    await emit(left, 'test.after_leave');
    await emit(kept, 'test.marker');
    await s.next((f) => f.broadcast?.event === 'test.marker', 'the marker');
    expect(broadcasts(s)).toEqual([`realtime:${kept} test.marker`]);
    s.close();
  });

  it('closes the earlier join of a topic joined twice, and ignores messages to it', async () => {
    const org = await newOrganization(db.sql);
    const token = await org.token('agent');
    const topic = `realtime:org:${org.id}`;
    const s = await RawSocket.open('&vsn=2.0.0');
    s.send(['1', '1', topic, 'phx_join', joinPayload(token)]);
    expect((await s.next(reply('1'), 'join 1'))[4].status).toBe('ok');
    const mark = s.frames.length;
    s.send(['2', '2', topic, 'phx_join', joinPayload(token)]);
    await s.next(reply('2'), 'join 2', mark);
    // Phoenix closes the old channel (phx_close to its join ref) before it answers the new join.
    expect(s.frames.slice(mark)).toEqual([
      ['1', '1', topic, 'phx_close', {}],
      ['2', '2', topic, 'phx_reply', { status: 'ok', response: { postgres_changes: [] } }],
    ]);
    // A leave naming the old join is stale: no answer, and the new join stays.
    s.send(['1', '3', topic, 'phx_leave', {}]);
    s.send([null, '4', 'phoenix', 'heartbeat', {}]);
    await s.next(reply('4'), 'the heartbeat after the stale leave');
    expect(s.frames.find(reply('3'))).toBeUndefined();
    await emit(`org:${org.id}`, 'test.once');
    await s.next((f) => f.broadcast?.event === 'test.once', 'the event');
    await dev.realtime.drained();
    expect(broadcasts(s)).toEqual([`${topic} test.once`]);
    s.close();
  });

  it('speaks vsn 1.0.0 when the client names no vsn, and refuses a vsn it has no serializer for', async () => {
    const s = await RawSocket.open('');
    s.send({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '1' });
    expect(await s.next((f) => f.ref === '1', 'the heartbeat reply')).toEqual({
      join_ref: null,
      ref: '1',
      topic: 'phoenix',
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
    });
    s.close();
    await expect(RawSocket.open('&vsn=3.0.0')).rejects.toThrow(/403/);
  });

  it('answers a REST broadcast 401 without a JWT, as Realtime does', async () => {
    const org = await newOrganization(db.sql);
    const body = JSON.stringify({ messages: [{ topic: `org:${org.id}:live`, event: 'typing', payload: {}, private: true }] });
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/realtime/v1/api/broadcast`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    expect((await post({ authorization: 'Bearer not-a-jwt', apikey: 'local' })).status).toBe(401);
    expect((await post({})).status).toBe(401);
    // The apikey alone stands for the project's anon key: accepted, and its messages dropped (anonymous).
    expect((await post({ apikey: 'local' })).status).toBe(202);
  });
});
