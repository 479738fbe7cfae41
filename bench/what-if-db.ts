// npx tsx bench/what-if-db.ts [-- --duration 5]   (after `npm run bench` has built banxway_bench)
//
// Sizes proposed database-side changes before anyone makes them: on a throw-away copy of the bench
// database (banxway_bench_whatif, created from it as a template and dropped at the end), the thread
// list and detail requests' SQL runs straight through postgres.js (10 loops, pool of 10), first as
// the code does it today, then with
//   - the list's LIMIT as a literal instead of a bind parameter (the prepared statement can then use
//     its cached generic plan; with `limit $n` PostgreSQL re-plans it on every execution),
//   - the membership select and the two set_config calls merged into one statement,
//   - app.claims() / app.acting_org() as inlinable SQL functions (no SET search_path) and
//     app.acting_ok() in plpgsql (its query plan is cached per session; a non-inlined SQL function
//     is re-planned on every call).
// The statements below are copies of lib/threads/service.ts and lib/http/route.ts as of this writing.
// Prints figures, never asserts. Nothing outside the copy is changed.
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import type { Ctx } from '../lib/context.js';
import { createPool, type Sql, type Tx } from '../lib/db/client.js';
import { SEED_ORG_ID, SEED_USERS } from '../lib/dev/seed.js';
import { getThread } from '../lib/threads/service.js';
import { cpuSample, cpuUse, fmt, table, timestamp, writeResult } from './shared.js';

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '5' } } });
const SECONDS = Number(args.duration);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const COPY = 'banxway_bench_whatif';
const A = SEED_USERS.agent;
const log = (line: string) => process.stdout.write(`${line}\n`);

const PROPOSED_FUNCTIONS = `
create or replace function app.claims() returns jsonb language sql stable as $$
  select coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;
create or replace function app.acting_org() returns uuid language sql stable as $$
  select nullif(app.claims() ->> 'org_id', '')::uuid
$$;
create or replace function app.acting_ok() returns boolean
language plpgsql stable security definer set search_path = '' as $f$
declare
  org uuid := app.acting_org();
  uid uuid := auth.uid();
begin
  if org is null then return false; end if;
  if uid is null then return coalesce(app.claims() ->> 'actor' = 'system', false); end if;
  return exists (select 1 from app.members m where m.org_id = org and m.user_id = uid and m.status = 'active');
end $f$;`;

const T = (tx: unknown) => tx as Tx;
const ctxOf = (tx: unknown): Ctx => ({ requestId: 'what-if', userId: A.id, orgId: SEED_ORG_ID, role: 'agent', sql: T(tx), jobs: [] });
const claims = JSON.stringify({ sub: A.id, role: 'authenticated', org_id: SEED_ORG_ID, org_role: 'agent', email: A.email });

// lib/http/route.ts: resolveMembership() then the claims, two statements.
const membership = (tx: Tx) => tx`
    select org_id, role from app.members where user_id = ${A.id} and status = 'active'
    ${tx``}`;
const setClaims = (tx: Tx) => tx`select set_config('request.jwt.claims', ${claims}, true), set_config('role', 'authenticated', true)`;
// Proposed: one statement.
const membershipAndClaims = (tx: Tx) => tx`
  select m.org_id, m.role,
    set_config('request.jwt.claims', json_build_object('sub', m.user_id, 'role', 'authenticated', 'org_id', m.org_id,
      'org_role', m.role, 'email', ${A.email}::text)::text, true),
    set_config('role', 'authenticated', true)
  from app.members m where m.user_id = ${A.id} and m.status = 'active'`;

// lib/threads/service.ts listThreads() without filters; `literal` puts the limit in the text.
const listStatement = (tx: Tx, literal: boolean) => tx`
    select t.id, t.subject, t.status, t.priority, t.channel, t.channel_id, t.customer_id, t.contact_id, t.counterpart,
      t.assignee_id, t.team_id, t.tags, t.snoozed_until, t.snippet, t.message_count, t.first_inbound_at,
      t.last_inbound_at, t.first_outbound_at, t.last_outbound_at, t.last_message_at, t.last_activity_at,
      t.resolved_at, t.closed_at, t.previous_thread_id, t.intent, t.sentiment, t.sentiment_score, t.urgency,
      t.first_response_due_at, t.next_response_due_at, t.resolution_due_at, t.sla_breached_at,
      t.created_by, t.created_at, t.updated_at, c.name as customer_name,
      (t.last_message_at is not null and (r.last_read_at is null or r.last_read_at < t.last_message_at)) as unread
    from app.threads t
    left join app.customers c on c.id = t.customer_id
    left join app.thread_reads r on r.thread_id = t.id and r.user_id = ${A.id}
    where t.org_id = ${SEED_ORG_ID}
    order by t.last_activity_at desc, t.id desc
    limit ${literal ? tx.unsafe(String(26)) : 26}`;

interface Row {
  functions: string;
  variant: string;
  rps: number;
  dbMsPerReq?: number;
  clientMsPerReq: number;
}

async function loops(
  sql: Sql,
  fn: (sql: Sql, i: number) => Promise<unknown>,
  dbPids: () => Promise<number[]>,
): Promise<{ rps: number; dbMsPerReq?: number; clientMsPerReq: number }> {
  const go = async (ms: number) => {
    let n = 0;
    const end = performance.now() + ms;
    await Promise.all(
      Array.from({ length: 10 }, async (_, c) => {
        for (let i = c; performance.now() < end; i += 10) {
          await fn(sql, i);
          n++;
        }
      }),
    );
    return n;
  };
  await go(1000);
  const pids = await dbPids();
  const before = cpuSample(undefined, pids);
  const t = performance.now();
  const n = await go(SECONDS * 1000);
  const wall = (performance.now() - t) / 1000;
  const cpu = cpuUse(before, cpuSample(undefined, [...new Set([...pids, ...(await dbPids())])]), n);
  return { rps: n / wall, dbMsPerReq: cpu.dbMsPerReq, clientMsPerReq: cpu.clientMsPerReq };
}

async function main() {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${COPY} with (force)`);
  await admin.unsafe(`create database ${COPY} template banxway_bench`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${COPY}`;
  const rows: Row[] = [];
  const monitor = postgres(url.toString(), { max: 1, onnotice: () => {} });
  const dbPids = async () =>
    (await monitor<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`).map((r) => r.pid);
  try {
    let sql = createPool(url.toString(), { max: 10, prepare: true });
    const ids = (await sql<{ id: string }[]>`select id from app.threads where org_id = ${SEED_ORG_ID} order by md5(id::text) limit 1000`).map((r) => r.id);
    const variants: [string, (sql: Sql, i: number) => Promise<unknown>][] = [
      ['list statement alone, limit $n (no tx, no RLS)', (s) => listStatement(T(s), false)],
      ['list statement alone, literal limit (no tx, no RLS)', (s) => listStatement(T(s), true)],
      ['list as the API does it (begin; members; set_config; list; commit)', (s) => s.begin(async (tx) => { await membership(T(tx)); await setClaims(T(tx)); return listStatement(T(tx), false); })],
      ['list, literal limit', (s) => s.begin(async (tx) => { await membership(T(tx)); await setClaims(T(tx)); return listStatement(T(tx), true); })],
      ['list, literal limit, members + claims in one statement', (s) => s.begin(async (tx) => { await membershipAndClaims(T(tx)); return listStatement(T(tx), true); })],
      ['detail as the API does it (getThread)', (s, i) => s.begin(async (tx) => { await membership(T(tx)); await setClaims(T(tx)); return getThread(ctxOf(tx), ids[i % ids.length]!); })],
      ['detail, members + claims in one statement', (s, i) => s.begin(async (tx) => { await membershipAndClaims(T(tx)); return getThread(ctxOf(tx), ids[i % ids.length]!); })],
    ];
    for (const functions of ['as migrated', 'proposed helper functions']) {
      if (functions !== 'as migrated') {
        await sql.unsafe(PROPOSED_FUNCTIONS);
        await sql.end();
        sql = createPool(url.toString(), { max: 10, prepare: true });
      }
      log(`--- RLS helper functions: ${functions}`);
      for (const [variant, fn] of variants) {
        if (functions !== 'as migrated' && variant.includes('no RLS')) continue;
        const r = await loops(sql, fn, dbPids);
        rows.push({ functions, variant, ...r });
        log(`  ${variant}: ${fmt(r.rps)} req/s, db CPU ${fmt(r.dbMsPerReq, 2)} ms/req, client CPU ${fmt(r.clientMsPerReq, 2)} ms/req`);
      }
    }
    await sql.end();
  } finally {
    await monitor.end();
    await admin.unsafe(`drop database if exists ${COPY} with (force)`);
    await admin.end();
  }
  log('');
  log(table([['RLS helpers', 'variant', 'req/s', 'db CPU ms/req', 'client CPU ms/req'], ...rows.map((r) => [r.functions, r.variant, fmt(r.rps), fmt(r.dbMsPerReq, 2), fmt(r.clientMsPerReq, 2)])]));
  log(`\nJSON: ${writeResult(`what-if-db-${timestamp()}.json`, { seconds: SECONDS, rows })}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
