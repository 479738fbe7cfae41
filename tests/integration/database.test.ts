// The schema's own guarantees, checked in SQL on both engines: migrations are repeatable, RLS holds
// when a query forgets its organization filter, authenticated cannot write what only the system
// writes, realtime events leave only with their transaction, and message status only moves forward.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClaims, createPool, type Claims, type Sql, type Tx } from '../../lib/db/client.js';
import { actAsMember } from '../../lib/http/route.js';
import { listMigrations, migrate } from '../../lib/db/migrate.js';
import { SECOND_ORG_ID, SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { emptyDatabase, testDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const member = (user: keyof typeof SEED_USERS, org = SEED_ORG_ID): Claims => ({ sub: SEED_USERS[user].id, role: 'authenticated', org_id: org });
const T1 = '10000001-0000-4000-8000-000000000001';

describe('migrations', () => {
  it('apply bootstrap and every migration on an empty database, and a second run changes nothing', async () => {
    const empty = await emptyDatabase();
    const sql = createPool(empty.url, { max: 2, prepare: false });
    try {
      const first = await migrate(sql);
      expect(first).toEqual(listMigrations().map((m) => m.version));
      const schema = async () =>
        sql`select table_schema, table_name, column_name, data_type from information_schema.columns
            where table_schema in ('app', 'auth', 'realtime') order by 1, 2, 3`;
      const before = await schema();
      expect(await migrate(sql)).toEqual([]);
      expect(await schema()).toEqual(before);
      const [rls] = await sql`select count(*)::int as n from pg_tables where schemaname = 'app' and not rowsecurity`;
      expect(rls!.n).toBe(0);
      // An exception block opens a subtransaction, which PostgreSQL refuses anywhere in a parallel
      // operation: such a function must keep the statements that call it out of parallel plans.
      const parallel = await sql`
        select p.oid::regprocedure::text as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('app', 'auth', 'realtime') and p.prosrc ~* '\\mexception\\s+when' and p.proparallel <> 'u'`;
      expect(parallel).toEqual([]);
    } finally {
      await sql.end();
      await empty.drop();
    }
  });
});

describe('row-level security', () => {
  it('shows a member of two organizations only the one the claims name, even without a filter', async () => {
    const org1 = await withClaims(member('multi'), (sql) => sql`select distinct org_id from app.threads`);
    expect(org1.map((r) => r.orgId)).toEqual([SEED_ORG_ID]);
    const org2 = await withClaims(member('multi', SECOND_ORG_ID), (sql) => sql`select subject from app.threads`);
    expect(org2.map((r) => r.subject)).toEqual(['Machine parts to Chennai - quote']);
    const foreign = await withClaims(member('agent', SECOND_ORG_ID), (sql) => sql`select id from app.threads`);
    expect(foreign).toEqual([]);
    const noOrg = await withClaims({ sub: SEED_USERS.agent.id, role: 'authenticated' } as Claims, (sql) => sql`select id from app.customers`);
    expect(noOrg).toEqual([]);
  });

  it('starts every acting transaction with its settings (no JIT; custom plans when a route asks)', async () => {
    const settings = (sql: Sql | Tx) => sql`select current_setting('jit') as jit, current_setting('plan_cache_mode') as plans`;
    expect(await withClaims(member('agent'), settings)).toEqual([{ jit: 'off', plans: 'auto' }]);
    const [asMember] = await db.sql.begin(async (tx) => {
      await actAsMember(tx as unknown as Tx, { userId: SEED_USERS.agent.id }, null, true);
      return settings(tx as unknown as Tx);
    });
    expect(asMember).toEqual({ jit: 'off', plans: 'force_custom_plan' });
  });

  it('never lets authenticated write roles, the outbox, the audit log or webhook events', async () => {
    const attempts = [
      (sql: Sql) => sql`update app.members set role = 'owner' where user_id = ${SEED_USERS.agent.id}`,
      (sql: Sql) => sql`insert into app.members (org_id, user_id, role) values (${SEED_ORG_ID}, ${SEED_USERS.other.id}, 'owner')`,
      (sql: Sql) => sql`insert into app.outbox (org_id, name) values (${SEED_ORG_ID}, 'thread.unsnooze')`,
      (sql: Sql) => sql`update app.outbox set status = 'done'`,
      (sql: Sql) => sql`insert into app.audit_log (org_id, action, entity_type) values (${SEED_ORG_ID}, 'x', 'y')`,
      (sql: Sql) => sql`delete from app.audit_log`,
      (sql: Sql) => sql`insert into app.webhook_events (provider, kind, dedupe_key) values ('resend', 'x', 'y')`,
      (sql: Sql) => sql`select app.complete_job(gen_random_uuid(), gen_random_uuid())`,
    ];
    for (const attempt of attempts) {
      await expect(withClaims(member('owner'), (sql) => attempt(sql as Sql))).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('lets viewers read but not write, whatever the API layer does', async () => {
    expect((await withClaims(member('viewer'), (sql) => sql`select id from app.threads`)).length).toBe(10);
    await expect(withClaims(member('viewer'), (sql) => sql`insert into app.customers (org_id, name) values (${SEED_ORG_ID}, 'x')`)).rejects.toMatchObject({
      code: '42501',
    });
    const updated = await withClaims(member('viewer'), (sql) => sql`update app.threads set priority = 'low' returning id`);
    expect(updated).toEqual([]);
  });
});

describe('realtime', () => {
  const broadcasts = (topic: string) => db.sql`select event, payload from realtime.messages where topic = ${topic} order by inserted_at`;

  it('a write as authenticated emits exactly its broadcast rows; a rolled-back write emits none', async () => {
    const topic = `org:${SEED_ORG_ID}:thread:${T1}`;
    const before = (await broadcasts(topic)).length;
    await withClaims(member('agent'), (sql) => sql`select app.emit(${topic}, 'thread.pinged', '{"n":1}'::jsonb)`);
    const after = await broadcasts(topic);
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)).toMatchObject({ event: 'thread.pinged', payload: { n: 1 } });
    await expect(
      withClaims(member('agent'), async (sql) => {
        await sql`select app.emit(${topic}, 'thread.pinged', '{"n":2}'::jsonb)`;
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await broadcasts(topic)).length).toBe(before + 1);
  });

  it('refuses topics of another organization or of a non-member user', async () => {
    for (const topic of [`org:${SECOND_ORG_ID}`, `org:${SECOND_ORG_ID}:thread:${T1}`, `user:${SEED_USERS.other.id}`, 'public']) {
      await expect(withClaims(member('agent'), (sql) => sql`select app.emit(${topic}, 'x', '{}'::jsonb)`)).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('lets a subscriber read broadcasts of their organizations and own user topic only', async () => {
    // Both topics get a broadcast here, so each check below is about who may read it, not whether one exists.
    await withClaims(member('agent'), (sql) => sql`select app.emit(${`org:${SEED_ORG_ID}:thread:${T1}`}, 'thread.pinged', '{}'::jsonb)`);
    await withClaims(member('multi'), (sql) => sql`select app.emit(${`user:${SEED_USERS.multi.id}`}, 'hello', '{}'::jsonb)`);
    // Realtime authorises a channel join by selecting with the user's JWT (no org claim) and the topic set.
    const canSee = async (user: keyof typeof SEED_USERS, topic: string) =>
      (
        await db.sql.begin(async (tx) => {
          await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: SEED_USERS[user].id, role: 'authenticated' })}, true),
                        set_config('realtime.topic', ${topic}, true), set_config('role', 'authenticated', true)`;
          return tx`select 1 from realtime.messages where topic = ${topic} limit 1`;
        })
      ).length > 0;
    expect(await canSee('agent', `org:${SEED_ORG_ID}:thread:${T1}`)).toBe(true);
    expect(await canSee('other', `org:${SEED_ORG_ID}:thread:${T1}`)).toBe(false);
    expect(await canSee('multi', `user:${SEED_USERS.multi.id}`)).toBe(true);
    expect(await canSee('agent', `user:${SEED_USERS.multi.id}`)).toBe(false);
  });
});

describe('message status', () => {
  it('only moves forward, whatever order delivery events arrive in', async () => {
    const [m] = await db.sql<{ id: string }[]>`
      insert into app.messages (org_id, thread_id, channel, direction, status) values (${SEED_ORG_ID}, ${T1}, 'email', 'outbound', 'queued')
      returning id`;
    const apply = async (status: string) => {
      const [r] = await withClaims(systemClaimsFor(), (sql) => sql`update app.messages set status = ${status} where id = ${m!.id} returning status`);
      return r!.status as string;
    };
    expect(await apply('delivered')).toBe('delivered');
    expect(await apply('sent')).toBe('delivered');
    expect(await apply('queued')).toBe('delivered');
    expect(await apply('read')).toBe('read');
    expect(await apply('bounced')).toBe('read');
    expect(await apply('delivered')).toBe('read');
    await expect(apply('ringing')).rejects.toMatchObject({ code: '23514' });
  });

  it('lets a bounce end a delivered message, and keeps call statuses terminal', async () => {
    const [m] = await db.sql<{ id: string }[]>`
      insert into app.messages (org_id, thread_id, channel, direction, status) values (${SEED_ORG_ID}, ${T1}, 'email', 'outbound', 'delivered') returning id`;
    await db.sql`update app.messages set status = 'bounced' where id = ${m!.id}`;
    await db.sql`update app.messages set status = 'read' where id = ${m!.id}`;
    expect((await db.sql`select status from app.messages where id = ${m!.id}`)[0]!.status).toBe('bounced');
    const [call] = await db.sql<{ id: string }[]>`
      insert into app.messages (org_id, thread_id, channel, kind, direction, status) values (${SEED_ORG_ID}, ${T1}, 'voice', 'call', 'outbound', 'ringing') returning id`;
    for (const s of ['in_progress', 'completed', 'in_progress', 'no_answer']) await db.sql`update app.messages set status = ${s} where id = ${call!.id}`;
    expect((await db.sql`select status from app.messages where id = ${call!.id}`)[0]!.status).toBe('completed');
  });
});

describe('concurrent transactions', () => {
  // On PGlite the socket server runs one transaction at a time (others queue behind it); on PostgreSQL
  // they truly overlap. Either way no transaction may see another's uncommitted rows.
  it('never show one transaction the uncommitted rows of another', async () => {
    const pause = () => new Promise((resolve) => setTimeout(resolve, 30));
    const run = (name: string) =>
      db.sql.begin(async (tx) => {
        await tx`insert into app.customers (org_id, name) values (${SEED_ORG_ID}, ${name})`;
        await pause();
        const rows = await tx<{ name: string }[]>`select name from app.customers where name like 'Isolation %' order by name`;
        await pause();
        return rows.map((r) => r.name);
      });
    const [a, b] = await Promise.all([run('Isolation A'), run('Isolation B')]);
    // Each sees its own row; it sees the other's only if that one had committed first.
    expect(a).toContain('Isolation A');
    expect(b).toContain('Isolation B');
    expect(a.includes('Isolation B') && b.includes('Isolation A')).toBe(false);
    const committed = await db.sql`select name from app.customers where name like 'Isolation %'`;
    expect(committed).toHaveLength(2);
  });
});

function systemClaimsFor(): Claims {
  return { role: 'authenticated', org_id: SEED_ORG_ID, actor: 'system' };
}
