// Members join by consent: an admin's invitation answers alike whether or not the email has an
// account, and only the account with that email can accept or decline it. Owners are changed only by
// owners or themselves.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { signAccessToken } from '../../lib/http/auth.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

/** A Supabase Auth account that belongs to no organization yet, and a token for it. */
async function account(email = `ops-${randomUUID()}@forwarder.example`) {
  const [u] = await db.sql<{ id: string }[]>`
    insert into auth.users (id, email, created_at, updated_at) values (gen_random_uuid(), ${email}, now(), now()) returning id`;
  return { id: u!.id, email, token: await signAccessToken({ id: u!.id, email }) };
}
const invite = (email: string, role = 'agent', as: 'admin' | 'owner' = 'admin') =>
  json('POST', '/api/members', { as, body: { email, role, displayName: 'Deepa Iyer' } });
const shape = (body: Record<string, unknown>) => Object.keys(body).sort();

describe('inviting members', () => {
  it('answers the same whether or not the email has an account, and adds nobody yet', async () => {
    const existing = await account();
    const withAccount = await invite(existing.email.toUpperCase());
    const withoutAccount = await invite(`nobody-${randomUUID()}@nowhere.example`);
    expect(withAccount.status).toBe(201);
    expect(withoutAccount.status).toBe(201);
    expect(shape(withAccount.body)).toEqual(shape(withoutAccount.body));
    expect(withAccount.body).toMatchObject({ email: existing.email, role: 'agent', status: 'pending' });
    expect(withoutAccount.body).toMatchObject({ role: 'agent', status: 'pending' });
    const members = await json('GET', '/api/members', { as: 'admin' });
    expect(members.body.data.map((m: any) => m.userId)).not.toContain(existing.id);
    const open = await json('GET', '/api/members/invitations', { as: 'admin' });
    expect(open.body.data.map((i: any) => i.id)).toEqual(expect.arrayContaining([withAccount.body.id, withoutAccount.body.id]));
    expect((await json('GET', '/api/members/invitations', { as: 'manager' })).status).toBe(403);
  });

  it('lets the invited account accept: it becomes an active member with the role, announced and audited', async () => {
    const user = await account();
    const inv = await invite(user.email, 'manager');
    const before = await json('GET', '/api/me', { token: user.token });
    expect(before.body.organizations).toEqual([]);
    expect(before.body.invitations).toEqual([expect.objectContaining({ id: inv.body.id, orgId: SEED_ORG_ID, role: 'manager' })]);
    // The member cannot act for the organization before accepting.
    expect((await json('GET', '/api/threads', { token: user.token })).status).toBe(403);

    const since = await broadcastsSince(db.sql);
    const accepted = await json('POST', `/api/me/invitations/${inv.body.id}/accept`, { token: user.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body.member).toMatchObject({ userId: user.id, role: 'manager', status: 'active', displayName: 'Deepa Iyer' });
    expect((await since()).map((b) => `${b.event} ${b.topic}`)).toEqual(
      expect.arrayContaining([`member.added org:${SEED_ORG_ID}`, `member.added user:${user.id}`]),
    );
    const [audit] = await db.sql`select actor_user_id, action from app.audit_log where entity_id = ${accepted.body.member.id}`;
    expect(audit).toMatchObject({ actorUserId: user.id, action: 'member.added' });

    const after = await json('GET', '/api/me', { token: user.token });
    expect(after.body.organizations).toEqual([expect.objectContaining({ id: SEED_ORG_ID, role: 'manager' })]);
    expect(after.body.invitations).toEqual([]);
    expect((await json('GET', '/api/threads', { token: user.token })).status).toBe(200);
    expect((await json('POST', `/api/me/invitations/${inv.body.id}/accept`, { token: user.token })).status).toBe(404);
    expect((await invite(user.email)).status).toBe(409);
  });

  it('reaches an account made after the invitation, and nobody with another email', async () => {
    const email = `later-${randomUUID()}@forwarder.example`;
    const inv = await invite(email);
    const stranger = await account();
    expect((await json('GET', '/api/me', { token: stranger.token })).body.invitations).toEqual([]);
    expect((await json('POST', `/api/me/invitations/${inv.body.id}/accept`, { token: stranger.token })).status).toBe(404);
    // A token that claims the invited email for another account does not help: the account's own email counts.
    const forgedEmail = await signAccessToken({ id: stranger.id, email });
    expect((await json('POST', `/api/me/invitations/${inv.body.id}/accept`, { token: forgedEmail })).status).toBe(404);
    const later = await account(email);
    expect((await json('POST', `/api/me/invitations/${inv.body.id}/accept`, { token: later.token })).status).toBe(200);
  });

  it('lets the account decline; revoked and expired invitations can no longer be taken', async () => {
    const user = await account();
    const declined = await invite(user.email);
    const res = await json('POST', `/api/me/invitations/${declined.body.id}/decline`, { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ invitation: { id: declined.body.id, status: 'declined' }, member: null });
    expect((await json('GET', '/api/me', { token: user.token })).body.organizations).toEqual([]);

    const revoked = await invite(user.email);
    expect((await json('DELETE', `/api/members/invitations/${revoked.body.id}`, { as: 'admin' })).status).toBe(204);
    expect((await json('POST', `/api/me/invitations/${revoked.body.id}/accept`, { token: user.token })).status).toBe(404);

    const expired = await invite(user.email);
    await db.sql`update app.member_invitations set expires_at = now() - interval '1 minute' where id = ${expired.body.id}`;
    expect((await json('GET', '/api/me', { token: user.token })).body.invitations).toEqual([]);
    expect((await json('POST', `/api/me/invitations/${expired.body.id}/accept`, { token: user.token })).status).toBe(404);
  });

  it('renews an open invitation instead of adding a second, and lets only owners invite owners', async () => {
    const email = `again-${randomUUID()}@forwarder.example`;
    const first = await invite(email);
    const second = await invite(email, 'viewer');
    expect(second.body).toMatchObject({ id: first.body.id, role: 'viewer' });
    expect((await invite(`o-${randomUUID()}@forwarder.example`, 'owner', 'admin')).status).toBe(403);
    expect((await invite(`o-${randomUUID()}@forwarder.example`, 'owner', 'owner')).status).toBe(201);
    const bad = await json('POST', '/api/members', { as: 'admin', body: { email: 'not-an-email' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('body.email');
  });
});

describe("an owner's profile", () => {
  it('is changed by owners or by that owner, never by an admin', async () => {
    const org = await newOrganization(db.sql);
    const path = `/api/members/${await org.memberId('owner')}`;
    for (const body of [{ displayName: 'Someone Else' }, { phone: '+919876500000' }]) {
      const res = await org.json('PATCH', path, { as: 'admin', body });
      expect(res.status, JSON.stringify(body)).toBe(403);
    }
    const self = await org.json('PATCH', path, { as: 'owner', body: { phone: '+919876511111' } });
    expect(self.status).toBe(200);
    expect(self.body.phone).toBe('+919876511111');
    // The admin still edits members below owner.
    expect((await org.json('PATCH', `/api/members/${await org.memberId('agent')}`, { as: 'admin', body: { displayName: 'Vikram S.' } })).status).toBe(200);
  });
});

describe('routes of the signed-in user', () => {
  it('refuse a missing, expired or wrongly signed token with 401, and a malformed id with 422', async () => {
    const user = await account();
    const expired = await signAccessToken({ id: user.id, email: user.email }, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    const forged = await signAccessToken({ id: user.id, email: user.email }, { secret: 'another-secret-that-is-long-enough-0123456789' });
    for (const [method, path] of [
      ['GET', '/api/me'],
      ['POST', `/api/me/invitations/${randomUUID()}/accept`],
      ['POST', `/api/me/invitations/${randomUUID()}/decline`],
    ] as const) {
      for (const token of [null, expired, forged]) expect((await json(method, path, { token })).status, `${path} ${String(token).slice(0, 8)}`).toBe(401);
    }
    const bad = await json('POST', '/api/me/invitations/not-a-uuid/accept', { token: user.token });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('path.id');
  });
});
