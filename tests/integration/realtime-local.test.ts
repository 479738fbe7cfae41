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
  j.channel.on('broadcast', { event: '*' }, (m) => j.broadcasts.push(m as unknown as Received));
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
    const sent = Date.now();
    const res = await api(await org.token('agent'), 'PATCH', `/api/threads/${threadId}`, { priority: 'high' });
    expect(res.status).toBe(200);
    const got = await until(() => member.broadcasts.find((b) => b.event === 'thread.updated'), 'thread.updated');
    // For the report only (no timed assertion): how long after the PATCH was sent the event arrived.
    if (process.env.REALTIME_LATENCY) console.log(`[${db.engine}] thread.updated after ${Date.now() - sent} ms`);
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
    expect(await viewer.channel.send({ type: 'broadcast', event: 'typing', payload: { userId: org.users.viewer.id } })).toBe('error');
    await join(client(await other.token('owner')), topic, {}, 'CHANNEL_ERROR');
    // Under this organization's prefix, a thread of another organization is nobody's to write on
    // (reading an empty topic of one's own organization is harmless, and allowed as before).
    const foreignThread = await newThread(other);
    const stray = await join(client(await org.token('owner')), `org:${org.id}:thread:${foreignThread}:live`, { broadcast: { ack: true } });
    expect(await stray.channel.track({ state: 'viewing' })).toBe('error');
    expect(await stray.channel.send({ type: 'broadcast', event: 'typing', payload: {} })).toBe('error');
    expect(agent.broadcasts).toEqual([]);
  });

  it('never lets a client write to a server topic', async () => {
    const org = await newOrganization(db.sql);
    const threadId = await newThread(org);
    const topic = `org:${org.id}:thread:${threadId}`;
    const listener = await join(client(await org.token('agent')), topic);
    const writer = await join(client(await org.token('owner')), topic, { broadcast: { ack: true }, presence: { key: 'x' } });
    expect(await writer.channel.send({ type: 'broadcast', event: 'thread.updated', payload: { forged: true } })).toBe('error');
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
