// API keys: admins create (shown once), list and revoke them; a key acts through RLS as the `api_key`
// actor with its role ceiling (never above its creator's), its scopes narrow the permission table, it
// works on every organization route with `Authorization: Bearer bx_live_...`, and a revoked, expired or
// orphaned key is refused at once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, setConfig } from '../../lib/config.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let org: TestOrg;
beforeAll(async () => {
  db = await testDatabase();
  org = await newOrganization(db.sql);
  await db.sql`
    insert into app.channels (org_id, kind, name, address, sending_domain_status) values (${org.id}, 'email', 'Ops', ${`ops@${org.domain}`}, 'verified')`;
});
afterAll(() => db.close());

async function makeKey(input: Record<string, unknown> = {}, as: 'owner' | 'admin' | 'manager' = 'admin') {
  const res = await org.json('POST', '/api/api-keys', { as, body: { name: `Agent ${randomUUID().slice(0, 6)}`, ...input } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; key: string; prefix: string; role: string; scopes: string[] | null };
}
const withKey = (key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  json(method, path, { token: key, body, headers });

async function newThread(subject = 'API key thread') {
  const [t] = await db.sql<{ id: string }[]>`
    insert into app.threads (org_id, subject, channel, counterpart) values (${org.id}, ${subject}, 'email', 'buyer@customer.example') returning id`;
  return t!.id;
}

describe('API keys', () => {
  it('creates a key shown once, stored as SHA-256 with a visible prefix, listed without the key', async () => {
    const made = await makeKey();
    expect(made.key).toMatch(/^bx_live_[A-Za-z0-9]{44}$/);
    expect(made.key.startsWith(made.prefix)).toBe(true);
    expect(made.role).toBe('agent');
    const [stored] = await db.sql<{ keyHash: string }[]>`select key_hash from app.api_keys where id = ${made.id}`;
    expect(stored!.keyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(made.key);
    const list = await org.json('GET', '/api/api-keys', { as: 'owner' });
    expect(list.status).toBe(200);
    const listed = list.body.data.find((k: { id: string }) => k.id === made.id);
    expect(listed.prefix).toBe(made.prefix);
    expect(JSON.stringify(list.body)).not.toContain(made.key);
    const [audit] = await db.sql<{ actor: string }[]>`select actor from app.audit_log where entity_type = 'api_key' and entity_id = ${made.id}`;
    expect(audit!.actor).toBe('user');
  });

  it('works on the REST API like a member, notes last use, and audits as the api_key actor', async () => {
    const made = await makeKey();
    const thread = await newThread();
    const list = await withKey(made.key, 'GET', '/api/threads?limit=5');
    expect(list.status).toBe(200);
    const note = await withKey(made.key, 'POST', `/api/threads/${thread}/notes`, { body: 'Checked by the agent' });
    expect(note.status, JSON.stringify(note.body)).toBe(201);
    const since = await broadcastsSince(db.sql);
    const patched = await withKey(made.key, 'PATCH', `/api/threads/${thread}`, { priority: 'high' });
    expect(patched.status).toBe(200);
    const events = (await since()).filter((b) => b.event === 'thread.updated' && b.topic.includes(thread));
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect(e.payload).toMatchObject({ actorId: null, actorApiKeyId: made.id });
    const [k] = await db.sql<{ lastUsedAt: Date | null }[]>`select last_used_at from app.api_keys where id = ${made.id}`;
    expect(k!.lastUsedAt).not.toBeNull();
    const audits = await db.sql<{ actor: string; apiKeyId: string; actorUserId: string | null }[]>`
      select actor, api_key_id, actor_user_id from app.audit_log where org_id = ${org.id} and entity_id = ${thread}`;
    expect(audits.length).toBeGreaterThan(0);
    for (const a of audits) expect(a).toMatchObject({ actor: 'api_key', apiKeyId: made.id, actorUserId: null });
  });

  it('acts through RLS: app.acting_role() answers the ceiling, lowered to the creator’s current role', async () => {
    const made = await makeKey({ role: 'manager' });
    const claims = JSON.stringify({ role: 'authenticated', org_id: org.id, actor: 'api_key', api_key_id: made.id });
    const roleNow = async () =>
      (
        await db.sql.begin(async (tx) => {
          await tx`select set_config('request.jwt.claims', ${claims}, true), set_config('role', 'authenticated', true)`;
          return tx<{ r: string | null }[]>`select app.acting_role() as r`;
        })
      )[0]!.r;
    expect(await roleNow()).toBe('manager');
    // Another organization's id with this key's claims is nobody.
    const other = JSON.stringify({ role: 'authenticated', org_id: randomUUID(), actor: 'api_key', api_key_id: made.id });
    const [none] = await db.sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${other}, true), set_config('role', 'authenticated', true)`;
      return tx<{ r: string | null }[]>`select app.acting_role() as r`;
    });
    expect(none!.r).toBeNull();
    // The creator is demoted: the key is too.
    const admin2 = await newOrganization(db.sql);
    const k2 = (await admin2.json('POST', '/api/api-keys', { as: 'admin', body: { name: 'k', role: 'admin' } })).body as { id: string; key: string };
    expect((await withKey(k2.key, 'GET', '/api/admin/jobs')).status).toBe(200);
    await db.sql`update app.members set role = 'agent' where org_id = ${admin2.id} and user_id = ${admin2.users.admin.id}`;
    expect((await withKey(k2.key, 'GET', '/api/admin/jobs')).status).toBe(403);
    // The creator leaves: the key acts as nobody.
    await db.sql`update app.members set status = 'disabled' where org_id = ${admin2.id} and user_id = ${admin2.users.admin.id}`;
    expect((await withKey(k2.key, 'GET', '/api/threads')).status).toBe(401);
  });

  it('never gets a role above its creator, and only admins manage keys', async () => {
    const above = await org.json('POST', '/api/api-keys', { as: 'admin', body: { name: 'too high', role: 'owner' } });
    expect(above.status).toBe(422);
    expect(JSON.stringify(above.body)).toContain('body.role');
    expect((await org.json('POST', '/api/api-keys', { as: 'manager', body: { name: 'no' } })).status).toBe(403);
    const bad = await org.json('POST', '/api/api-keys', { as: 'admin', body: { name: 'x', scopes: ['threads.fly'] } });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain('body.scopes');
    const past = await org.json('POST', '/api/api-keys', { as: 'admin', body: { name: 'x', expiresAt: '2020-01-01T00:00:00Z' } });
    expect(past.status).toBe(422);
    expect(JSON.stringify(past.body)).toContain('body.expiresAt');
  });

  it('cannot make keys, even with an admin ceiling, nor use personal routes', async () => {
    const made = await makeKey({ role: 'admin' });
    const res = await withKey(made.key, 'POST', '/api/api-keys', { name: 'child' });
    expect(res.status).toBe(403);
    expect((await withKey(made.key, 'GET', '/api/api-keys')).status).toBe(403);
    expect((await withKey(made.key, 'GET', '/api/me')).status).toBe(403);
  });

  it('is narrowed by its scopes, and sends replies only when scoped to it', async () => {
    const readOnly = await makeKey({ scopes: ['threads.read'] });
    const thread = await newThread();
    expect((await withKey(readOnly.key, 'GET', `/api/threads/${thread}`)).status).toBe(200);
    const refused = await withKey(readOnly.key, 'PATCH', `/api/threads/${thread}`, { priority: 'low' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('threads.write');

    const writer = await makeKey();
    const draft = await withKey(writer.key, 'POST', `/api/threads/${thread}/messages`, { draft: true, text: 'Draft by the agent' });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    const sendNow = await withKey(writer.key, 'POST', `/api/threads/${thread}/messages`, { text: 'Sent by the agent' });
    expect(sendNow.status).toBe(403);
    expect(sendNow.body.error.message).toContain('replies.send');
    expect((await withKey(writer.key, 'POST', `/api/messages/${draft.body.id}/send`)).status).toBe(403);
    // The key edits its own draft; another key does not.
    expect((await withKey(writer.key, 'PATCH', `/api/messages/${draft.body.id}`, { text: 'Edited' })).status).toBe(200);
    const otherKey = await makeKey();
    expect((await withKey(otherKey.key, 'PATCH', `/api/messages/${draft.body.id}`, { text: 'Mine now' })).status).toBe(403);

    const sender = await makeKey({ scopes: ['threads.read', 'threads.write', 'replies.send'] });
    const sent = await withKey(sender.key, 'POST', `/api/threads/${thread}/messages`, { text: 'Sent by the agent' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body.status).toBe('queued');
  });

  it('changes shared templates and macros only when scoped to templates.manage, whatever its role', async () => {
    const narrow = await makeKey({ role: 'manager', scopes: ['threads.read', 'threads.write'] });
    const template = { name: `Shared ${randomUUID().slice(0, 6)}`, channels: ['email'], body: 'Noted, {{contact.firstName}}.' };
    const refused = await withKey(narrow.key, 'POST', '/api/templates', { ...template, visibility: 'organization' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('templates.manage');
    const macro = { name: `Shared ${randomUUID().slice(0, 6)}`, steps: [{ type: 'priority', priority: 'high' }], visibility: 'organization' };
    expect((await withKey(narrow.key, 'POST', '/api/macros', macro)).status).toBe(403);
    const shared = await org.json('POST', '/api/templates', { as: 'manager', body: { ...template, visibility: 'organization' } });
    expect(shared.status, JSON.stringify(shared.body)).toBe(201);
    expect((await withKey(narrow.key, 'PATCH', `/api/templates/${shared.body.id}`, { body: 'Changed' })).status).toBe(403);
    expect((await withKey(narrow.key, 'DELETE', `/api/templates/${shared.body.id}`)).status).toBe(403);
    // Using a shared template is still threads.write's.
    expect((await withKey(narrow.key, 'GET', `/api/templates/${shared.body.id}`)).status).toBe(200);

    const manage = await makeKey({ role: 'manager', scopes: ['threads.read', 'threads.write', 'templates.manage'] });
    expect((await withKey(manage.key, 'PATCH', `/api/templates/${shared.body.id}`, { body: 'Changed' })).status).toBe(200);
    expect((await withKey(manage.key, 'POST', '/api/macros', macro)).status).toBe(201);
    // A key with all its role allows (no scopes) may too.
    const all = await makeKey({ role: 'manager' });
    expect((await withKey(all.key, 'DELETE', `/api/templates/${shared.body.id}`)).status).toBe(204);
  });

  it('is refused at once when revoked or expired, and never reaches another organization', async () => {
    const made = await makeKey();
    expect((await withKey(made.key, 'GET', '/api/threads')).status).toBe(200);
    const revoked = await org.json('DELETE', `/api/api-keys/${made.id}`, { as: 'admin' });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const after = await withKey(made.key, 'GET', '/api/threads');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');

    const expiring = await makeKey({ expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await db.sql`update app.api_keys set expires_at = now() - interval '1 second' where id = ${expiring.id}`;
    expect((await withKey(expiring.key, 'GET', '/api/threads')).status).toBe(401);

    const live = await makeKey();
    const other = await newOrganization(db.sql);
    expect((await withKey(live.key, 'GET', '/api/threads', undefined, { 'x-org-id': other.id })).status).toBe(404);
    const [t] = await db.sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, channel) values (${other.id}, 'Not yours', 'email') returning id`;
    expect((await withKey(live.key, 'GET', `/api/threads/${t!.id}`)).status).toBe(404);
    // A forged key with a real prefix is refused.
    expect((await withKey(`${live.prefix}${'A'.repeat(32)}`, 'GET', '/api/threads')).status).toBe(401);
    expect((await withKey('bx_live_short', 'GET', '/api/threads')).status).toBe(401);
  });

  it('has its own rate limit per key', async () => {
    const saved = config();
    const made = await makeKey();
    const other = await makeKey();
    setConfig({ ...saved, rateLimit: { ...saved.rateLimit, perApiKeyPerMinute: 2 } });
    try {
      expect((await withKey(made.key, 'GET', '/api/threads?limit=1')).status).toBe(200);
      expect((await withKey(made.key, 'GET', '/api/threads?limit=1')).status).toBe(200);
      const limited = await withKey(made.key, 'GET', '/api/threads?limit=1');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBeTruthy();
      expect((await withKey(other.key, 'GET', '/api/threads?limit=1')).status).toBe(200);
    } finally {
      setConfig(saved);
    }
  });

  it('replays an Idempotency-Key per key', async () => {
    const made = await makeKey();
    const thread = await newThread();
    const key = randomUUID();
    const first = await withKey(made.key, 'POST', `/api/threads/${thread}/notes`, { body: 'Once' }, { 'idempotency-key': key });
    const again = await withKey(made.key, 'POST', `/api/threads/${thread}/notes`, { body: 'Once' }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
  });
});
