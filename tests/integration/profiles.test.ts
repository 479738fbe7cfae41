// A member's own profile (GET/PATCH /api/me), availability and what assigning to an away member
// answers, team leads, and the organization's email signature: through the HTTP API, each test in
// an organization of its own (tests/helpers/org.ts).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { canTakeWork, currentAvailability, workableMembers } from '../../lib/org/availability.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const paths = (body: any) => body.error.details.issues.map((i: any) => i.path);
const inHours = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();

async function thread(org: TestOrg): Promise<string> {
  const created = await org.json('POST', '/api/threads', { body: { subject: `Booking ${randomUUID()}` } });
  expect(created.status).toBe(201);
  return created.body.id;
}

describe('GET /api/me', () => {
  it("answers the profile in the user's only organization, and none for a user of several who names none", async () => {
    const org = await newOrganization(db.sql);
    const mine = await org.json('GET', '/api/me');
    expect(mine.status).toBe(200);
    expect(mine.body.organizations.map((o: any) => o.id)).toEqual([org.id]);
    expect(mine.body.profile).toMatchObject({
      memberId: await org.memberId('agent'),
      orgId: org.id,
      userId: org.users.agent.id,
      role: 'agent',
      displayName: org.users.agent.name,
      phone: null,
      jobTitle: null,
      signature: null,
      timezone: null,
      availability: { status: 'available', until: null, note: null },
    });

    const multi = await json('GET', '/api/me', { as: 'multi' });
    expect(multi.body.organizations).toHaveLength(2);
    expect(multi.body.profile).toBeNull();
    const second = await json('GET', '/api/me', { as: 'multi', headers: { 'x-org-id': SECOND_ORG_ID } });
    expect(second.body.profile).toMatchObject({ orgId: SECOND_ORG_ID, userId: SEED_USERS.multi.id });
    expect(second.body.organizations).toHaveLength(2);
    expect((await json('GET', '/api/me', { as: 'multi', headers: { 'x-org-id': randomUUID() } })).status).toBe(404);
    expect(paths((await json('GET', '/api/me', { as: 'multi', headers: { 'x-org-id': 'org-1' } })).body)).toEqual(['header.x-org-id']);
  });
});

describe('PATCH /api/me', () => {
  it('lets an agent set their own phone (which /api/members refuses them), name, title, time zone and signature', async () => {
    const org = await newOrganization(db.sql);
    const agentMember = await org.memberId('agent');
    expect((await org.json('PATCH', `/api/members/${agentMember}`, { body: { phone: '+919820098200' } })).status).toBe(403);

    const since = await broadcastsSince(db.sql);
    const patched = await org.json('PATCH', '/api/me', {
      body: {
        displayName: 'Vikram Rao',
        phone: '098200 98200',
        jobTitle: 'Export Operations',
        timezone: 'Asia/Kolkata',
        signature:
          '<p onclick="steal()">Vikram Rao<br><b>Export Operations</b></p><script>alert(1)</script><img src="http://t.example/pixel.gif"><img src="https://seahawk.example/logo.png" alt="Seahawk">',
      },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      memberId: agentMember,
      displayName: 'Vikram Rao',
      phone: '+919820098200',
      phoneRegionAssumed: { region: 'IN', fields: ['phone'] },
      jobTitle: 'Export Operations',
      timezone: 'Asia/Kolkata',
    });
    // No script, no event handler, no plain-http image; an https logo stays.
    expect(patched.body.signature).toBe('<p>Vikram Rao<br /><b>Export Operations</b></p><img src="https://seahawk.example/logo.png" alt="Seahawk" />');
    expect((await org.json('GET', '/api/me')).body.profile).toMatchObject({ phone: '+919820098200', signature: patched.body.signature });

    // Others see the change on the members list and in member.updated, never the signature.
    const listed = (await org.json('GET', '/api/members', { as: 'viewer' })).body.data.find((m: any) => m.id === agentMember);
    expect(listed).toMatchObject({ displayName: 'Vikram Rao', phone: '+919820098200', jobTitle: 'Export Operations', timezone: 'Asia/Kolkata' });
    expect(listed).not.toHaveProperty('signature');
    const events = (await since()).filter((b) => b.event === 'member.updated');
    expect(events.map((b) => b.topic).sort()).toEqual([`org:${org.id}`, `user:${org.users.agent.id}`].sort());
    for (const e of events) {
      expect(e.payload.data).toEqual(listed);
      expect(JSON.stringify(e.payload)).not.toContain('logo.png');
    }
    // Role and status stay with /api/members.
    const role = await org.json('PATCH', '/api/me', { body: { role: 'admin' } });
    expect(role.status).toBe(422);
    expect(role.body.error.details.issues[0]).toMatchObject({ path: 'body', message: expect.stringContaining('"role"') });
    expect((await org.json('GET', '/api/me')).body.profile.role).toBe('agent');
  });

  it('lets a viewer edit their own profile, and only their own', async () => {
    const org = await newOrganization(db.sql);
    const viewer = await org.json('PATCH', '/api/me', { as: 'viewer', body: { jobTitle: 'Auditor', phone: null } });
    expect(viewer.status).toBe(200);
    expect(viewer.body).toMatchObject({ userId: org.users.viewer.id, jobTitle: 'Auditor' });
    const rows = await db.sql`select user_id, job_title from app.members where org_id = ${org.id} and job_title is not null`;
    expect(rows.map((r) => r.userId)).toEqual([org.users.viewer.id]);
  });

  it('holds in the database too: a member session writes only its own profile columns', async () => {
    const org = await newOrganization(db.sql);
    const claims = { sub: org.users.agent.id, role: 'authenticated' as const, org_id: org.id };
    const others = await withClaims(
      claims,
      (sql) => sql`update app.members set job_title = 'Hijacked' where org_id = ${org.id} and user_id <> ${org.users.agent.id} returning id`,
    );
    expect(others).toHaveLength(0);
    await expect(withClaims(claims, (sql) => sql`update app.members set role = 'owner' where user_id = ${org.users.agent.id}`)).rejects.toThrow(
      /permission denied/,
    );
    const own = await withClaims(
      claims,
      (sql) => sql`update app.members set job_title = 'Ops' where org_id = ${org.id} and user_id = ${org.users.agent.id} returning id`,
    );
    expect(own).toHaveLength(1);
  });

  it('names each invalid field', async () => {
    const org = await newOrganization(db.sql);
    const cases: [unknown, string[]][] = [
      [{ phone: '12' }, ['body.phone']],
      [{ phone: '+91 12345' }, ['body.phone']],
      [{ timezone: 'Mars/Olympus' }, ['body.timezone']],
      [{ timezone: '+05:30' }, ['body.timezone']],
      [{ displayName: '  ' }, ['body.displayName']],
      [{ availability: { status: 'gone' } }, ['body.availability.status']],
      [{ availability: { status: 'away', until: '2020-01-01T10:00:00Z' } }, ['body.availability.until']],
      [{ availability: { status: 'away', until: 'tomorrow' } }, ['body.availability.until']],
      [{ availability: { status: 'available', until: inHours(2) } }, ['body.availability.until']],
      [{ signature: 'x'.repeat(20_001) }, ['body.signature']],
      [{}, ['body']],
    ];
    for (const [body, expected] of cases) {
      const res = await org.json('PATCH', '/api/me', { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(paths(res.body), JSON.stringify(body)).toEqual(expected);
    }
  });
});

describe('availability', () => {
  it('shows away until a time on the members list, and available once it has passed', async () => {
    const org = await newOrganization(db.sql);
    const until = inHours(5);
    const away = await org.json('PATCH', '/api/me', { as: 'manager', body: { availability: { status: 'away', until, note: 'On leave, ask Anita' } } });
    expect(away.body.availability).toEqual({ status: 'away', until: new Date(until).toISOString(), note: 'On leave, ask Anita' });
    const member = async () => (await org.json('GET', '/api/members')).body.data.find((m: any) => m.userId === org.users.manager.id);
    expect((await member()).availability.status).toBe('away');
    await db.sql`update app.members set availability_until = now() - interval '1 minute' where org_id = ${org.id} and user_id = ${org.users.manager.id}`;
    expect((await member()).availability).toEqual({ status: 'available', until: null, note: null });
  });

  it('reads an until without an offset in the member’s own time zone', async () => {
    const org = await newOrganization(db.sql);
    const wall = new Date(Date.now() + 3 * 86400_000).toISOString().slice(0, 10);
    const res = await org.json('PATCH', '/api/me', { body: { timezone: 'Europe/Berlin', availability: { status: 'busy', until: `${wall}T09:00` } } });
    expect(res.status).toBe(200);
    const offsetHours = (new Date(`${wall}T09:00:00Z`).getTime() - new Date(res.body.availability.until).getTime()) / 3600_000;
    expect([1, 2]).toContain(offsetHours); // CET or CEST
  });

  it('decides who can take work now in one rule', () => {
    const now = new Date('2026-12-05T10:00:00Z');
    const base = { role: 'agent', status: 'active', availability: 'available' as const, availabilityUntil: null, availabilityNote: null };
    expect(canTakeWork(base, now)).toBe(true);
    expect(canTakeWork({ ...base, availability: 'busy' }, now)).toBe(false);
    expect(canTakeWork({ ...base, availability: 'away', availabilityUntil: '2026-12-05T12:00:00Z' }, now)).toBe(false);
    expect(canTakeWork({ ...base, availability: 'away', availabilityUntil: '2026-12-05T09:59:59Z' }, now)).toBe(true);
    expect(canTakeWork({ ...base, availability: 'busy', availabilityUntil: '2026-12-05T10:00:00Z' }, now)).toBe(true);
    expect(canTakeWork({ ...base, role: 'viewer' }, now)).toBe(false);
    expect(canTakeWork({ ...base, status: 'disabled' }, now)).toBe(false);
    expect(currentAvailability({ availability: 'away', availabilityUntil: null, availabilityNote: 'Leave' }, now)).toEqual({
      status: 'away',
      until: null,
      note: 'Leave',
    });
  });

  it('lists the members of the organization (or of a team) who can take work now', async () => {
    const org = await newOrganization(db.sql);
    await org.json('PATCH', '/api/me', { as: 'agent', body: { availability: { status: 'away' } } });
    await org.json('PATCH', '/api/me', { as: 'manager', body: { availability: { status: 'busy', until: inHours(1) } } });
    const team = await org.json('POST', '/api/teams', {
      as: 'manager',
      body: { name: 'Air', memberIds: [org.users.agent.id, org.users.admin.id, org.users.viewer.id] },
    });
    const workable = (options: { teamId?: string; now?: Date } = {}) =>
      withClaims(systemClaims(org.id), (sql) => workableMembers({ requestId: 't', userId: null, orgId: org.id, role: 'system', sql, jobs: [] }, options));
    expect((await workable()).map((m) => m.userId).sort()).toEqual([org.users.owner.id, org.users.admin.id].sort());
    expect((await workable({ teamId: team.body.id })).map((m) => m.userId)).toEqual([org.users.admin.id]);
    expect((await workable({ now: new Date(Date.now() + 2 * 3600_000) })).map((m) => m.userId).sort()).toEqual(
      [org.users.owner.id, org.users.admin.id, org.users.manager.id].sort(),
    );
  });

  it('assigns a thread to an away member with a warning, by every assigning route', async () => {
    const org = await newOrganization(db.sql);
    const until = inHours(48);
    await org.json('PATCH', '/api/me', { as: 'manager', body: { availability: { status: 'away', until, note: 'Travelling' } } });
    await org.json('PATCH', '/api/me', { as: 'admin', body: { availability: { status: 'busy' } } });
    const warning = {
      field: 'assigneeId',
      code: 'assignee_away',
      message: `${org.users.manager.name} is away until ${new Date(until).toISOString()}: Travelling`,
      until: new Date(until).toISOString(),
    };

    const assigned = await org.json('POST', `/api/threads/${await thread(org)}/assign`, { body: { assigneeId: org.users.manager.id } });
    expect(assigned.status).toBe(200);
    expect(assigned.body.assigneeId).toBe(org.users.manager.id);
    expect(assigned.body.warnings).toEqual([warning]);

    const id = await thread(org);
    const patched = await org.json('PATCH', `/api/threads/${id}`, { body: { assigneeId: org.users.manager.id, priority: 'high' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ assigneeId: org.users.manager.id, priority: 'high', warnings: [warning] });
    expect((await org.json('GET', `/api/threads/${id}`)).body.assigneeId).toBe(org.users.manager.id);

    const created = await org.json('POST', '/api/threads', { body: { subject: 'Rate request', assigneeId: org.users.manager.id } });
    expect(created.status).toBe(201);
    expect(created.body.warnings).toEqual([warning]);

    // Busy and available assignees: no warning.
    for (const who of ['admin', 'agent'] as const) {
      const res = await org.json('POST', `/api/threads/${await thread(org)}/assign`, { body: { assigneeId: org.users[who].id } });
      expect(res.status).toBe(200);
      expect(res.body).not.toHaveProperty('warnings');
    }
    const unassigned = await org.json('PATCH', `/api/threads/${id}`, { body: { assigneeId: null } });
    expect(unassigned.body).toMatchObject({ assigneeId: null });
    expect(unassigned.body).not.toHaveProperty('warnings');
    // Still refused: someone who is not a member.
    expect(paths((await org.json('PATCH', `/api/threads/${id}`, { body: { assigneeId: SEED_USERS.agent.id } })).body)).toEqual(['body.assigneeId']);
  });
});

describe('team leads', () => {
  it('sets leads through the teams routes, each a member of the team', async () => {
    const org = await newOrganization(db.sql);
    const { agent, admin, viewer } = org.users;
    const created = await org.json('POST', '/api/teams', {
      as: 'manager',
      body: { name: 'Sea Exports', memberIds: [agent.id, admin.id], leadIds: [admin.id] },
    });
    expect(created.status).toBe(201);
    expect(created.body.leadIds).toEqual([admin.id]);
    expect(created.body.members).toEqual(
      expect.arrayContaining([
        { userId: admin.id, role: 'lead' },
        { userId: agent.id, role: 'member' },
      ]),
    );
    const id = created.body.id;
    const swapped = await org.json('PATCH', `/api/teams/${id}`, { as: 'manager', body: { leadIds: [agent.id] } });
    expect(swapped.body.leadIds).toEqual([agent.id]);
    const added = await org.json('PATCH', `/api/teams/${id}`, {
      as: 'manager',
      body: { memberIds: [agent.id, admin.id, viewer.id], leadIds: [agent.id, viewer.id] },
    });
    expect([...added.body.leadIds].sort()).toEqual([agent.id, viewer.id].sort());
    // Members added without leadIds keep the default role; a lead left out of memberIds leaves the team.
    const kept = await org.json('PATCH', `/api/teams/${id}`, { as: 'manager', body: { memberIds: [admin.id, viewer.id] } });
    expect(kept.body.leadIds).toEqual([viewer.id]);
    const listed = (await org.json('GET', '/api/teams', { as: 'viewer' })).body.data.find((t: any) => t.id === id);
    expect(listed.leadIds).toEqual([viewer.id]);

    const outsider = await org.json('PATCH', `/api/teams/${id}`, { as: 'manager', body: { leadIds: [viewer.id, agent.id] } });
    expect(outsider.status).toBe(422);
    expect(paths(outsider.body)).toEqual(['body.leadIds.1']);
    const notUuid = await org.json('POST', '/api/teams', { as: 'manager', body: { name: 'Air', leadIds: ['x'] } });
    expect(paths(notUuid.body)).toEqual(['body.leadIds.0']);
    expect((await org.json('PATCH', `/api/teams/${id}`, { as: 'agent', body: { leadIds: [] } })).status).toBe(403);
  });
});

describe("the organization's email signature", () => {
  it('is set by admins through PATCH /api/org, sanitised', async () => {
    const org = await newOrganization(db.sql);
    const set = await org.json('PATCH', '/api/org', {
      as: 'admin',
      body: {
        emailSignature: '<p style="color:#036">Seahawk Logistics<br>Navi Mumbai</p><iframe src="https://x.example"></iframe><a href="javascript:x()">x</a>',
      },
    });
    expect(set.status).toBe(200);
    expect(set.body.emailSignature).toBe(
      '<p style="color:#036">Seahawk Logistics<br />Navi Mumbai</p><a target="_blank" rel="noopener noreferrer nofollow">x</a>',
    );
    expect((await org.json('GET', '/api/org')).body.emailSignature).toBe(set.body.emailSignature);
    expect((await org.json('PATCH', '/api/org', { body: { emailSignature: null } })).status).toBe(403);
    const cleared = await org.json('PATCH', '/api/org', { as: 'admin', body: { emailSignature: null } });
    expect(cleared.body.emailSignature).toBeNull();
    expect(SEED_ORG_ID).not.toBe(org.id);
  });
});
