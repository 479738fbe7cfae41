// Members join by invitation. An admin's invitation answers alike whether or not the email has an
// account; the invitee gets a link by mail (Supabase Auth's invite for an email without an account, the
// app's own mail otherwise, and locally the .eml sink) and accepts it with their own access token, whose
// account's confirmed email must be the invited one. Links are single use, last 7 days and die when
// revoked or replaced. Owners are changed only by owners or themselves.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { signAccessToken } from '../../lib/http/auth.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_SERVICE_ROLE_KEY, fakeSupabaseAuth, type FakeSupabaseAuth } from '../helpers/fake-supabase-auth.js';
import { newOrganization } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let saved: Config;
let gotrue: FakeSupabaseAuth;
let supabaseConfig: Config;
beforeAll(async () => {
  db = await testDatabase();
  saved = config();
  gotrue = await fakeSupabaseAuth();
  // HS256 test tokens stay valid beside Supabase (AUTH_JWT_SECRET), so the same users can accept.
  supabaseConfig = parseConfig({
    ...process.env,
    SUPABASE_URL: gotrue.url,
    SUPABASE_SERVICE_ROLE_KEY: FAKE_SERVICE_ROLE_KEY,
    AUTH_JWT_SECRET: saved.auth.secret,
    AUTH_JWT_ISSUER: saved.auth.issuer,
  });
});
// Each test starts with no job of an earlier one left to run.
beforeEach(async () => {
  setConfig(saved);
  await drainJobs();
});
afterEach(() => setConfig(saved));
afterAll(async () => {
  setConfig(saved);
  await gotrue.close();
  await db.close();
});

/** A Supabase Auth account with a confirmed email that belongs to no organization yet, and a token for it. */
async function account(email = `ops-${randomUUID()}@forwarder.example`, confirmed = true) {
  const [u] = await db.sql<{ id: string }[]>`
    insert into auth.users (id, email, email_confirmed_at, created_at, updated_at)
    values (gen_random_uuid(), ${email}, ${confirmed ? new Date() : null}, now(), now()) returning id`;
  return { id: u!.id, email, token: await signAccessToken({ id: u!.id, email }) };
}
/** A token for a local user who has no account yet (as `npm run token -- --email` prints). */
async function newcomer(email = `new-${randomUUID()}@forwarder.example`) {
  const id = randomUUID();
  return { id, email, token: await signAccessToken({ id, email }) };
}
const invite = (email: string, role = 'agent', as: 'admin' | 'owner' = 'admin') =>
  json('POST', '/api/invitations', { as, body: { email, role, displayName: 'Deepa Iyer' } });
const shape = (body: Record<string, unknown>) => Object.keys(body).sort();

/** The link token of the latest invitation mail to this address in the local .eml sink. */
async function mailedToken(email: string): Promise<string> {
  const dir = config().email.mailOutDir;
  const found = [];
  for (const name of readdirSync(dir).filter((n) => n.startsWith('invitation-'))) {
    const file = join(dir, name);
    const mail = await simpleParser(readFileSync(file));
    if (mail.to && !Array.isArray(mail.to) && mail.to.value[0]?.address === email) found.push({ at: statSync(file).mtimeMs, text: mail.text ?? '' });
  }
  const text = found.sort((a, b) => a.at - b.at).at(-1)?.text ?? '';
  const token = /\/invitations\/accept\?token=([A-Za-z0-9_-]{43})/.exec(text)?.[1];
  if (!token) throw new Error(`no invitation mail to ${email}`);
  return token;
}
const accept = (token: string, as: { token: string }) => json('POST', `/api/invitations/${token}/accept`, { token: as.token });

describe('inviting members', () => {
  it('answers the same whether or not the email has an account, and adds nobody yet', async () => {
    const existing = await account();
    const withAccount = await invite(existing.email.toUpperCase());
    const withoutAccount = await invite(`nobody-${randomUUID()}@nowhere.example`);
    expect(withAccount.status).toBe(201);
    expect(withoutAccount.status).toBe(201);
    expect(shape(withAccount.body)).toEqual(shape(withoutAccount.body));
    expect(withAccount.body).toMatchObject({ email: existing.email, role: 'agent', status: 'pending', sentAt: null, expired: false });
    expect(withAccount.body).not.toHaveProperty('delivery');
    const days = (Date.parse(withAccount.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);
    const members = await json('GET', '/api/members', { as: 'admin' });
    expect(members.body.data.map((m: any) => m.userId)).not.toContain(existing.id);
    const open = await json('GET', '/api/invitations', { as: 'admin' });
    expect(open.body.data.map((i: any) => i.id)).toEqual(expect.arrayContaining([withAccount.body.id, withoutAccount.body.id]));
    expect((await json('GET', '/api/invitations', { as: 'manager' })).status).toBe(403);
    expect((await json('POST', '/api/invitations', { as: 'manager', body: { email: 'x@forwarder.example' } })).status).toBe(403);
  });

  it('mails a link locally; a newcomer accepts it with their own token and gets an account, once', async () => {
    const user = await newcomer();
    const inv = await invite(user.email, 'manager');
    expect(await drainJobs()).toContain('done');
    const token = await mailedToken(user.email);
    const listed = (await json('GET', '/api/invitations', { as: 'admin' })).body.data.find((i: any) => i.id === inv.body.id);
    expect(listed).toMatchObject({ sendCount: 1, deliveryError: null });
    expect(listed.sentAt).not.toBeNull();
    // The member cannot act for the organization before accepting.
    expect((await json('GET', '/api/threads', { token: user.token })).status).toBe(403);

    const since = await broadcastsSince(db.sql);
    const accepted = await accept(token, user);
    expect(accepted.status).toBe(200);
    expect(accepted.body.member).toMatchObject({ userId: user.id, role: 'manager', status: 'active', displayName: 'Deepa Iyer' });
    expect(accepted.body.organization).toMatchObject({ id: SEED_ORG_ID });
    expect((await since()).map((b) => `${b.event} ${b.topic}`)).toEqual(
      expect.arrayContaining([`member.added org:${SEED_ORG_ID}`, `member.added user:${user.id}`]),
    );
    const [made] = await db.sql`select lower(email) as email, email_confirmed_at from auth.users where id = ${user.id}`;
    expect(made!.email).toBe(user.email);
    expect(made!.emailConfirmedAt).not.toBeNull();
    const [audit] = await db.sql`select actor_user_id, action from app.audit_log where entity_id = ${accepted.body.member.id}`;
    expect(audit).toMatchObject({ actorUserId: user.id, action: 'member.added' });
    expect((await json('GET', '/api/threads', { token: user.token })).status).toBe(200);
    expect((await json('GET', '/api/me', { token: user.token })).body.organizations).toEqual([expect.objectContaining({ id: SEED_ORG_ID, role: 'manager' })]);

    // Single use.
    const again = await accept(token, user);
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('gone');
    expect((await invite(user.email)).status).toBe(409);
  });

  it('refuses a stranger with 403, even one whose token claims the invited email', async () => {
    const email = `invitee-${randomUUID()}@forwarder.example`;
    await invite(email);
    await drainJobs();
    const token = await mailedToken(email);
    const stranger = await account();
    expect((await accept(token, stranger)).status).toBe(403);
    // The account's own confirmed email counts, not a claim in the token.
    const forged = { token: await signAccessToken({ id: stranger.id, email }) };
    expect((await accept(token, forged)).status).toBe(403);
    // An account whose email Supabase Auth has not confirmed cannot take its own invitation.
    const unconfirmed = await account(undefined, false);
    await invite(unconfirmed.email);
    await drainJobs();
    expect((await accept(await mailedToken(unconfirmed.email), unconfirmed)).status).toBe(403);
    expect((await json('GET', '/api/me', { token: stranger.token })).body.organizations).toEqual([]);
    // The invitee still can.
    expect((await accept(token, await account(email))).status).toBe(200);
  });

  it('answers 410 for a revoked, expired or replaced link, 404 for an unknown one and 422 for a malformed one', async () => {
    const user = await account();
    const revoked = await invite(user.email);
    await drainJobs();
    const revokedToken = await mailedToken(user.email);
    expect((await json('DELETE', `/api/invitations/${revoked.body.id}`, { as: 'admin' })).status).toBe(204);
    expect((await accept(revokedToken, user)).status).toBe(410);
    // Nothing mails a revoked invitation.
    expect((await json('POST', `/api/invitations/${revoked.body.id}/resend`, { as: 'admin' })).status).toBe(404);

    const inv = await invite(user.email);
    await drainJobs();
    const first = await mailedToken(user.email);
    const resent = await json('POST', `/api/invitations/${inv.body.id}/resend`, { as: 'admin' });
    expect(resent.status).toBe(200);
    await drainJobs();
    const second = await mailedToken(user.email);
    expect(second).not.toBe(first);
    expect((await json('GET', '/api/invitations', { as: 'admin' })).body.data.find((i: any) => i.id === inv.body.id).sendCount).toBe(2);
    expect((await accept(first, user)).status).toBe(410);

    await db.sql`update app.member_invitations set expires_at = now() - interval '1 minute' where id = ${inv.body.id}`;
    expect((await accept(second, user)).status).toBe(410);
    expect((await json('GET', '/api/me', { token: user.token })).body.invitations).toEqual([]);

    expect((await accept('A'.repeat(43), user)).status).toBe(404);
    const bad = await accept('not-a-token', user);
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('path.id');
  });

  it('renews an open invitation instead of adding a second, and lets only owners invite owners', async () => {
    const email = `again-${randomUUID()}@forwarder.example`;
    const first = await invite(email);
    const second = await invite(email, 'viewer');
    expect(second.body).toMatchObject({ id: first.body.id, role: 'viewer' });
    expect((await invite(`o-${randomUUID()}@forwarder.example`, 'owner', 'admin')).status).toBe(403);
    expect((await invite(`o-${randomUUID()}@forwarder.example`, 'owner', 'owner')).status).toBe(201);
    const bad = await json('POST', '/api/invitations', { as: 'admin', body: { email: 'not-an-email' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('body.email');
    const badStatus = await json('GET', '/api/invitations?status=open', { as: 'admin' });
    expect(badStatus.status).toBe(422);
    expect(badStatus.body.error.details.issues[0].path).toBe('query.status');
  });

  it('leaves the invitee’s other organizations alone', async () => {
    const org = await newOrganization(db.sql);
    const agent = org.users.agent;
    const token = { token: await org.token('agent') };
    await invite(agent.email, 'viewer');
    await drainJobs();
    expect((await accept(await mailedToken(agent.email), token)).status).toBe(200);
    const me = await json('GET', '/api/me', token);
    expect(me.body.organizations.map((o: any) => `${o.id} ${o.role}`).sort()).toEqual([`${SEED_ORG_ID} viewer`, `${org.id} agent`].sort());
  });
});

describe('invitations from the list on /api/me', () => {
  it('lets the invited account accept: it becomes an active member with the role', async () => {
    const user = await account();
    const inv = await invite(user.email, 'manager');
    const before = await json('GET', '/api/me', { token: user.token });
    expect(before.body.invitations).toEqual([expect.objectContaining({ id: inv.body.id, orgId: SEED_ORG_ID, role: 'manager' })]);
    const accepted = await json('POST', `/api/me/invitations/${inv.body.id}/accept`, { token: user.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body.member).toMatchObject({ userId: user.id, role: 'manager', status: 'active' });
    expect((await json('GET', '/api/me', { token: user.token })).body.invitations).toEqual([]);
    expect((await json('POST', `/api/me/invitations/${inv.body.id}/accept`, { token: user.token })).status).toBe(404);
  });

  it('shows nobody else the invitation, and lets the account decline', async () => {
    const user = await account();
    const declined = await invite(user.email);
    const stranger = await account();
    expect((await json('GET', '/api/me', { token: stranger.token })).body.invitations).toEqual([]);
    expect((await json('POST', `/api/me/invitations/${declined.body.id}/accept`, { token: stranger.token })).status).toBe(404);
    const res = await json('POST', `/api/me/invitations/${declined.body.id}/decline`, { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ invitation: { id: declined.body.id, status: 'declined' }, member: null });
    expect((await json('GET', '/api/me', { token: user.token })).body.organizations).toEqual([]);
  });
});

describe('invitations through Supabase Auth', () => {
  it('invites an email without an account through the admin API, and mails an existing account itself, with the same answer', async () => {
    setConfig(supabaseConfig);
    const fresh = `fresh-${randomUUID()}@forwarder.example`;
    const known = `known-${randomUUID()}@forwarder.example`;
    gotrue.registered.add(known);
    const a = await invite(fresh);
    const b = await invite(known);
    expect(shape(a.body)).toEqual(shape(b.body));
    const before = gotrue.requests.length;
    expect(await drainJobs()).toEqual(['done', 'done']);
    const calls = gotrue.requests.slice(before);
    expect(calls.map((r) => r.body.email).sort()).toEqual([fresh, known].sort());
    const freshCall = calls.find((r) => r.body.email === fresh)!;
    expect(freshCall.body.data).toMatchObject({ invited_to_org: expect.any(String) });
    const redirect = new URL(freshCall.query.get('redirect_to')!);
    expect(`${redirect.origin}${redirect.pathname}`).toBe('https://app.banxway.test/invitations/accept');
    expect(redirect.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // GoTrue refused the known address ("already registered"): it got the app's own mail with its link.
    expect(await mailedToken(known)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await expect(mailedToken(fresh)).rejects.toThrow();
    const listed = (await json('GET', '/api/invitations', { as: 'admin' })).body.data.filter((i: any) => [a.body.id, b.body.id].includes(i.id));
    expect(listed.map((i: any) => i.sendCount)).toEqual([1, 1]);
    for (const i of listed) expect(i).not.toHaveProperty('delivery');

    // The new account Supabase made accepts with the link's token; nobody's account is made here.
    const invitee = await account(fresh);
    expect((await accept(redirect.searchParams.get('token')!, invitee)).status).toBe(200);
    const noAccount = await newcomer();
    await invite(noAccount.email);
    await drainJobs();
    const link = new URL(gotrue.requests.at(-1)!.query.get('redirect_to')!).searchParams.get('token')!;
    expect((await accept(link, noAccount)).status).toBe(403);
    expect(await db.sql`select 1 from auth.users where id = ${noAccount.id}`).toHaveLength(0);
  });

  it('retries when Supabase Auth is down and shows the reason when it refuses', async () => {
    setConfig(supabaseConfig);
    const email = `flaky-${randomUUID()}@forwarder.example`;
    gotrue.failNext(503, 'unexpected_failure', 'Service unavailable');
    const inv = await invite(email);
    expect(await drainJobs()).toEqual(['retry']);
    await db.sql`update app.outbox set run_at = now() where name = 'invitation.send' and status = 'pending'`;
    expect(await drainJobs()).toEqual(['done']);

    const refused = await invite(`refused-${randomUUID()}@forwarder.example`);
    gotrue.failNext(400, 'email_address_invalid', 'Email address is invalid');
    expect(await drainJobs()).toEqual(['dead']);
    const listed = (await json('GET', '/api/invitations', { as: 'admin' })).body.data;
    expect(listed.find((i: any) => i.id === refused.body.id).deliveryError).toMatch(/Email address is invalid/);
    expect(listed.find((i: any) => i.id === inv.body.id)).toMatchObject({ sendCount: 1, deliveryError: null });
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
      ['POST', `/api/invitations/${'A'.repeat(43)}/accept`],
    ] as const) {
      for (const token of [null, expired, forged]) expect((await json(method, path, { token })).status, `${path} ${String(token).slice(0, 8)}`).toBe(401);
    }
    const bad = await json('POST', '/api/me/invitations/not-a-uuid/accept', { token: user.token });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('path.id');
  });
});
