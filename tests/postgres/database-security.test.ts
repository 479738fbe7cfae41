// Database-level findings of the security audit, on real PostgreSQL: what a database session as
// `authenticated` (as Supabase's Realtime and Data API open them) can and cannot reach.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClaims, withClaims, type Claims } from '../../lib/db/client.js';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const member = (user: keyof typeof SEED_USERS, org = SEED_ORG_ID): Claims => ({ sub: SEED_USERS[user].id, role: 'authenticated', org_id: org });

describe('realtime.messages', () => {
  it('shows a member only the rows of the topic they joined, never other topics they cannot join', async () => {
    await withClaims(
      systemClaims(SECOND_ORG_ID),
      (sql) => sql`select app.emit(${`org:${SECOND_ORG_ID}`}, 'customer.created', '{"secret":"second org"}'::jsonb)`,
    );
    await withClaims(
      member('other', SECOND_ORG_ID),
      (sql) => sql`select app.emit(${`user:${SEED_USERS.other.id}`}, 'notification.created', '{"secret":"lena"}'::jsonb)`,
    );
    await withClaims(member('agent'), (sql) => sql`select app.emit(${`org:${SEED_ORG_ID}`}, 'customer.created', '{"n":1}'::jsonb)`);
    await withClaims(member('agent'), (sql) => sql`select app.emit(${`user:${SEED_USERS.agent.id}`}, 'notification.created', '{"n":2}'::jsonb)`);

    // As Realtime joins a channel: the user's claims (no organization), realtime.topic set, and then
    // a select that forgets to filter by topic.
    const visible = (user: keyof typeof SEED_USERS, topic: string) =>
      db.sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: SEED_USERS[user].id, role: 'authenticated' })}, true),
                        set_config('realtime.topic', ${topic}, true), set_config('role', 'authenticated', true)`;
        return tx<{ topic: string }[]>`select distinct topic from realtime.messages`;
      });
    // multi belongs to both organizations: joining the first org's topic shows that topic only.
    expect((await visible('multi', `org:${SEED_ORG_ID}`)).map((r) => r.topic)).toEqual([`org:${SEED_ORG_ID}`]);
    expect((await visible('multi', `org:${SECOND_ORG_ID}`)).map((r) => r.topic)).toEqual([`org:${SECOND_ORG_ID}`]);
    expect((await visible('agent', `user:${SEED_USERS.agent.id}`)).map((r) => r.topic)).toEqual([`user:${SEED_USERS.agent.id}`]);
    expect(await visible('agent', `org:${SECOND_ORG_ID}`)).toEqual([]);
  });
});

describe('security-definer helpers', () => {
  // A member's database session as Supabase opens one for PostgREST or Realtime: logged in as
  // `authenticator` (not a member of banxway_server), switched to `authenticated`, with claims.
  const asMemberSession = <T>(claims: Record<string, unknown>, fn: (tx: import('postgres').TransactionSql) => Promise<T>) =>
    db.sql.begin(async (tx) => {
      await tx`set local session authorization authenticator`;
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('role', 'authenticated', true)`;
      return fn(tx as never);
    });
  const viewer = { sub: SEED_USERS.viewer.id, role: 'authenticated', org_id: SEED_ORG_ID };
  const owner = { sub: SEED_USERS.owner.id, role: 'authenticated', org_id: SEED_ORG_ID };

  it('refuse a member session that is not the server: no forged jobs, audit rows or events', async () => {
    const calls: [Record<string, unknown>, (tx: any) => Promise<unknown>][] = [
      [viewer, (tx) => tx`select app.enqueue_job('thread.unsnooze', '{}'::jsonb)`],
      [viewer, (tx) => tx`select app.audit('x.y', 'thread', null, '{}'::jsonb, 'forged')`],
      [viewer, (tx) => tx`select app.emit(${`user:${SEED_USERS.owner.id}`}, 'notification.created', '{"title":"forged"}'::jsonb)`],
      [viewer, (tx) => tx`select app.record_change(${[`org:${SEED_ORG_ID}`]}::text[], 'thread.updated', '{}'::jsonb, 'x', 'thread', null, null, 'forged')`],
      [owner, (tx) => tx`select app.retry_job(gen_random_uuid())`],
      [owner, (tx) => tx`select app.complete_job(gen_random_uuid(), gen_random_uuid())`],
      // Writes other members' read rows (a merge carries them): the server only.
      [owner, (tx) => tx`select * from app.carry_thread_reads(gen_random_uuid(), gen_random_uuid(), null, null)`],
    ];
    for (const [claims, call] of calls) {
      await expect(asMemberSession(claims, call)).rejects.toMatchObject({ code: '42501' });
    }
    // The session itself works: the member reads their organization under RLS.
    const threads = await asMemberSession(viewer, (tx) => tx`select count(*)::int as n from app.threads`);
    expect((threads[0] as { n: number }).n).toBeGreaterThan(0);
  });

  it('gives claims that name the system actor nothing outside a server session', async () => {
    const system = { role: 'authenticated', org_id: SECOND_ORG_ID, actor: 'system' };
    const rows = await asMemberSession(system, (tx) => tx`select app.acting_role() as role, (select count(*)::int from app.threads) as n`);
    expect(rows[0]).toEqual({ role: null, n: 0 });
    await expect(asMemberSession(system, (tx) => tx`select app.enqueue_job('thread.unsnooze', '{}'::jsonb)`)).rejects.toMatchObject({ code: '42501' });
  });

  it('still serve the API, whose login role is a member of banxway_server', async () => {
    const [row] = await withClaims(member('viewer'), (sql) => sql`select app.is_server() as server`);
    expect(row!.server).toBe(true);
    const id = await withClaims(systemClaims(SEED_ORG_ID), (sql) => sql`select app.enqueue_job('thread.unsnooze', '{}'::jsonb) as id`);
    expect(id[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
