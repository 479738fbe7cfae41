// Bulk data for the benchmarks: threads, messages, read state, shipments, milestones and links for the seeded
// organization, generated set-based (generate_series) on top of migrate() + seed(). The same SQL runs
// on PostgreSQL and on PGlite. Every row goes through the real constraints, foreign keys and indexes.
import type { Sql } from '../lib/db/client.js';
import { SEED_ORG_ID, SEED_USERS } from '../lib/dev/seed.js';

/**
 * The generator's version, recorded with the data: a reused data set must have been made by this one.
 * 2: search content. 3: outbound messages have their author (the member who wrote them); the rollups
 * lie in the order live writing leaves them.
 */
export const DATA_VERSION = 3;

export interface DataSize {
  threads: number;
  messages: number;
  /** Shipments beside the threads, with four milestones each; half the threads link to one. */
  shipments: number;
}

const id = (prefix: string, n: number) => `${prefix}000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const textArray = (items: readonly string[]) => `array[${items.map(lit).join(', ')}]::text[]`;

// Assignees among the seeded members (null for 15 % of threads); the agent gets the largest share.
const ASSIGNEES = [
  SEED_USERS.agent.id,
  SEED_USERS.agent.id,
  SEED_USERS.agent.id,
  SEED_USERS.manager.id,
  SEED_USERS.manager.id,
  SEED_USERS.admin.id,
  SEED_USERS.owner.id,
  SEED_USERS.multi.id,
];
// Seeded customers 1..7, weighted (a strategic shipper writes most); contact per customer below.
const CUSTOMER_PICK = [1, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 7, 7];
// Customer n -> its contacts (seed.ts: customer 1 has contacts 1 and 2).
const CONTACTS_OF: Record<number, number[]> = { 1: [1, 2], 2: [3], 3: [4], 4: [5], 5: [6], 6: [7], 7: [8] };
// Tag pool; booking appears three times so about 17 % of threads carry it.
const TAGS = [
  'booking',
  'booking',
  'booking',
  'quote',
  'quote',
  'customs',
  'transport',
  'pre-alert',
  'complaint',
  'schedule',
  'billing',
  'documents',
  'pharma',
  'reefer',
];

const SUBJECTS = [
  'Booking confirmation 2x40HC Nhava Sheva to Hamburg',
  'Air freight quote 850 kg AMD to AMS',
  'Bill of entry query',
  'Truck placement at Bhiwandi warehouse',
  'Pre-alert: vessel arriving JNPT',
  'Delayed delivery and damaged cartons',
  'Vessel schedule change: ETD revised',
  'Invoice payment reminder',
  'Draft B/L for approval',
  'Rate request LCL Chennai to Jebel Ali',
  'Reefer plug-in and temperature log',
  'Shipping bill and LEO copy',
  'Container detention charges',
  'DO release and CFS charges',
];

const INBOUND = [
  'Dear Team, please confirm the booking for 2x40HC ex Nhava Sheva, cargo ready on the 14th. Kindly share the SI cut-off and the vessel details at the earliest.',
  'Hello, request your best rates for 6 pallets, 2-8 degrees, temperature-controlled handling required. Please advise transit time and validity.',
  'Sir, customs has raised a query on the BE: HS code classification needs a technical write-up from the consignee today, else demurrage starts tomorrow.',
  'Vehicle will report at 7 AM tomorrow. Driver details shared on WhatsApp. Please keep the loading documents ready.',
  'Please find attached the commercial invoice and packing list. Kindly check and confirm the draft shipping bill.',
  'Thanks, noted. Payment will be released on Monday after the approval from our finance team.',
  'We are disappointed with the second delay this quarter. Please explain and advise on the claim process for the damaged cartons.',
  'Please note the ETD is revised by 48 hours due to berth congestion. New cut-off will be shared separately.',
];

const OUTBOUND = [
  'Dear Sir, booking is confirmed on the nominated vessel. SI cut-off is Thursday 18:00 and VGM cut-off Friday 12:00. Best regards, Seahawk Logistics',
  'Please find our quote attached: USD 3.85/kg all-in via DXB, space reserved. Validity 7 days. Regards, Seahawk Logistics',
  'Noted with thanks. We will arrange clearance and delivery and keep you posted on the milestones.',
  'Draft B/L attached for your approval. Please confirm by today so we can release the final on time.',
  'Gentle reminder: the invoice is overdue by 12 days. Kindly arrange the payment at the earliest.',
  'We have escalated the matter with the carrier and the CFS; the survey report will follow by tomorrow.',
];

/**
 * The generation script: one multi-statement simple query (run it inside one transaction). Random
 * values come from setseed(), so a given size always produces the same data.
 */
export function generationScript(size: DataSize): string {
  const org = lit(SEED_ORG_ID);
  const agent = lit(SEED_USERS.agent.id);
  const contactsFlat = Object.entries(CONTACTS_OF).flatMap(([c, ks]) => ks.map((k) => ({ c: Number(c), k })));
  return `
set local synchronous_commit = off;
select setseed(0.4242);

create temp table bench_bodies (i int primary key, inbound text, outbound text) on commit drop;
insert into bench_bodies
  select i - 1, (${textArray(INBOUND)})[1 + (i - 1) % ${INBOUND.length}], (${textArray(OUTBOUND)})[1 + (i - 1) % ${OUTBOUND.length}]
  from generate_series(1, ${INBOUND.length * OUTBOUND.length}) i;

-- One row per thread with its random draws; the derived columns follow in bench_t.
create temp table bench_r on commit drop as
  select n, random() as r_status, random() as r_pri, random() as r_chan, random() as r_asg, random() as r_team,
         random() as r_cust, random() as r_contact, random() as r_age, random() as r_step, random() as r_cnt,
         random() as r_t1, random() as r_t2, random() as r_t3, random() as r_sent, random() as r_subj
  from generate_series(1, ${size.threads}) n;

create temp table bench_t on commit drop as
  select r.n,
    -- md5 with the version (4) and variant (8) nibbles set: a valid RFC 9562 v4 uuid, stable per n.
    overlay(overlay(md5('banxway-bench-thread-' || r.n) placing '4' from 13) placing '8' from 17)::uuid as id,
    s.status,
    case when r.r_pri < 0.20 then 'low' when r.r_pri < 0.75 then 'normal' when r.r_pri < 0.93 then 'high' else 'urgent' end as priority,
    case when r.r_chan < 0.65 then 'email' when r.r_chan < 0.90 then 'whatsapp' when r.r_chan < 0.95 then 'sms' else 'voice' end as channel,
    case when r.r_asg < 0.15 then null else (${textArray(ASSIGNEES)})[1 + floor((r.r_asg - 0.15) / 0.85 * ${ASSIGNEES.length})::int]::uuid end as assignee_id,
    case when r.r_team < 0.5 then null when r.r_team < 0.8 then ${lit(id('0c', 1))}::uuid else ${lit(id('0c', 2))}::uuid end as team_id,
    c.customer_no,
    case when r.r_t1 < 0.80 then (${textArray(TAGS)})[1 + floor(r.r_t1 / 0.80 * ${TAGS.length})::int] end as tag1,
    case when r.r_t2 < 0.35 then (${textArray(TAGS)})[1 + floor(r.r_t2 / 0.35 * ${TAGS.length})::int] end as tag2,
    case when r.r_t3 < 0.10 then (${textArray(TAGS)})[1 + floor(r.r_t3 / 0.10 * ${TAGS.length})::int] end as tag3,
    -- Open work is recent; resolved and closed threads spread over the whole year.
    now() - (case when s.status in ('open', 'pending', 'snoozed') then 45 * power(r.r_age, 1.5) else 365 * r.r_age end) * interval '1 day'
      - (r.n % 3600) * interval '1 second' as last_at,
    (20 + r.r_step * 1400) * interval '1 minute' as step,
    1 + floor(r.r_cnt * 19)::int as cnt,
    r.r_sent, r.r_subj, r.r_contact
  from bench_r r
  cross join lateral (select case when r.r_status < 0.30 then 'open' when r.r_status < 0.45 then 'pending'
    when r.r_status < 0.50 then 'snoozed' when r.r_status < 0.80 then 'resolved' else 'closed' end as status) s
  cross join lateral (select case when r.r_cust < 0.08 then null
    else (array[${CUSTOMER_PICK.join(', ')}])[1 + floor((r.r_cust - 0.08) / 0.92 * ${CUSTOMER_PICK.length})::int] end as customer_no) c;

-- Exactly the requested number of messages: nudge per-thread counts by one where the sum is off.
update bench_t b set cnt = cnt - 1 from (
  select n from bench_t where cnt > 1 order by n limit greatest((select sum(cnt) from bench_t) - ${size.messages}, 0)) x
where b.n = x.n;
update bench_t b set cnt = cnt + 1 from (
  select n from bench_t order by n limit greatest(${size.messages} - (select sum(cnt) from bench_t), 0)) x
where b.n = x.n;

create temp table bench_contact (customer_no int, idx int, contact_id uuid, email text, phone text, whatsapp text) on commit drop;
insert into bench_contact
  select v.c, v.idx, k.id, k.email, k.phone, k.whatsapp
  from (values ${contactsFlat.map(({ c, k }, i) => `(${c}, ${contactsFlat.slice(0, i).filter((x) => x.c === c).length}, ${lit(id('0e', k))}::uuid)`).join(', ')}) v(c, idx, contact)
  join app.contacts k on k.id = v.contact;

insert into app.threads (id, org_id, subject, normalized_subject, status, priority, channel, customer_id, contact_id, counterpart,
    assignee_id, team_id, tags, snoozed_until, snippet, message_count, first_inbound_at, last_inbound_at, first_outbound_at,
    last_outbound_at, last_message_at, last_activity_at, resolved_at, closed_at, intent, sentiment, created_at, updated_at)
  select t.id, ${org}, x.subject, lower(x.subject), t.status, t.priority, t.channel,
    case when t.customer_no is null then null else ('0d000000-0000-4000-8000-' || lpad(t.customer_no::text, 12, '0'))::uuid end,
    k.contact_id,
    case when k.contact_id is null then 'sender' || t.n || '@example.com'
         when t.channel = 'email' then coalesce(k.email, k.phone) else coalesce(k.whatsapp, k.phone) end,
    t.assignee_id, t.team_id,
    array(select distinct g from unnest(array[t.tag1, t.tag2, t.tag3]) g where g is not null order by g),
    case when t.status = 'snoozed' then now() + (1 + t.r_sent * 10) * interval '1 day' end,
    left(case when t.cnt % 2 = 1 then b.inbound else b.outbound end, 200),
    t.cnt,
    t.last_at - (t.cnt - 1) * t.step,
    t.last_at - ((t.cnt + 1) % 2) * t.step,
    case when t.cnt >= 2 then t.last_at - (t.cnt - 2) * t.step end,
    case when t.cnt >= 2 then t.last_at - (t.cnt % 2) * t.step end,
    t.last_at, t.last_at,
    case when t.status = 'resolved' then t.last_at end,
    case when t.status = 'closed' then t.last_at end,
    (array['booking', 'quote', 'tracking', 'documentation', 'complaint', 'payment'])[1 + t.n % 6],
    (array['positive', 'neutral', 'neutral', 'negative'])[1 + (t.n / 7) % 4],
    t.last_at - t.cnt * t.step, t.last_at
  from bench_t t
  cross join lateral (select (${textArray(SUBJECTS)})[1 + floor(t.r_subj * ${SUBJECTS.length})::int] || ' - SHL/' || lpad((t.n % 100000)::text, 5, '0') as subject) x
  left join bench_contact k on k.customer_no = t.customer_no
    and k.idx = floor(t.r_contact * (select count(*) from bench_contact c2 where c2.customer_no = t.customer_no))::int
  join bench_bodies b on b.i = (t.n + t.cnt) % ${INBOUND.length * OUTBOUND.length};

-- Messages alternate inbound (odd k) and outbound (even k); inbound is 'received', outbound mostly
-- 'delivered' and written by the thread's assignee (a member by the thread's number when it has
-- none); voice threads hold calls. The thread roll-ups above match these rows.
insert into app.messages (org_id, thread_id, channel, kind, direction, status, author_id, from_address, to_recipients, subject,
    body_text, body_new_text, snippet, identifiers, content_type, rfc_message_id, external_ids, dedupe_key, call_duration_seconds,
    occurred_at, sent_at, delivered_at, read_at, failed_at, status_changed_at, created_at, updated_at)
  select ${org}, t.id, t.channel,
    m.kind, m.direction, m.status,
    case when m.direction = 'outbound' then coalesce(th.assignee_id, (${textArray(ASSIGNEES)})[1 + t.n % ${ASSIGNEES.length}]::uuid) end,
    case when m.direction = 'inbound' then th.counterpart else 'ops@seahawk-logistics.in' end,
    jsonb_build_array(jsonb_build_object('address', case when m.direction = 'inbound' then 'ops@seahawk-logistics.in' else th.counterpart end)),
    case when t.channel = 'email' then case when k = 1 then th.subject else 'Re: ' || th.subject end end,
    m.body, m.body, left(m.body, 200), m.identifiers,
    case when m.kind = 'call' then 'call' else 'text' end,
    case when t.channel = 'email' then m.mid end,
    case when t.channel = 'email' then array[m.mid] else '{}'::text[] end,
    m.mid,
    case when m.kind = 'call' and m.status = 'completed' then 30 + (t.n * k) % 600 end,
    m.at,
    case when m.direction = 'outbound' and m.status <> 'failed' then m.at end,
    case when m.direction = 'outbound' and m.status in ('delivered', 'read') then m.at + interval '5 seconds' end,
    case when m.direction = 'outbound' and m.status = 'read' then m.at + interval '10 minutes' end,
    case when m.direction = 'outbound' and m.status = 'failed' then m.at + interval '5 seconds' end,
    m.at, m.at, m.at
  from bench_t t
  join app.threads th on th.id = t.id
  cross join lateral generate_series(1, t.cnt) k
  join bench_bodies b on b.i = (t.n + k) % ${INBOUND.length * OUTBOUND.length}
  cross join lateral (select
    case when t.channel = 'voice' then 'call' else 'message' end as kind,
    case when k % 2 = 1 then 'inbound' else 'outbound' end as direction,
    case when t.channel = 'voice' then (case when (t.n + k) % 7 = 0 then 'no_answer' else 'completed' end)
         when k % 2 = 1 then 'received'
         else (case (t.n * 31 + k) % 50 when 0 then 'failed' when 1 then 'sent' when 2 then 'sent' when 3 then 'sent' when 4 then 'sent'
               else (case when (t.n + k) % 5 = 0 then 'read' else 'delivered' end) end) end as status,
    -- Search (bench/api.ts SEARCH_VIEWS): a common word in a third of the messages, a rare one in 1 of
    -- 20,000, and a booking number in the first message of every 25th thread (stored in identifiers,
    -- as ingest stores it).
    (case when k % 2 = 1 then b.inbound else b.outbound end)
      || case when (t.n + k) % 3 = 0 then ' The container is ready at the CFS.' else '' end
      || case when (t.n * 7 + k) % 20000 = 0 then ' Fumigation certificate pending.' else '' end
      || case when k = 1 and t.n % 25 = 0 then ' Booking no. BK' || lpad(t.n::text, 8, '0') else '' end as body,
    case when k = 1 and t.n % 25 = 0 then array['BK' || lpad(t.n::text, 8, '0')] else '{}'::text[] end as identifiers,
    '<bench-' || t.n || '-' || k || '@' || case when k % 2 = 1 then 'example.com' else 'seahawk-logistics.in' end || '>' as mid,
    t.last_at - (t.cnt - k) * t.step as at) m;

-- Read state: the agent has opened most of their own threads (70 % of those up to date) and a
-- few others.
insert into app.thread_reads (org_id, thread_id, user_id, last_read_at)
  select ${org}, t.id, ${agent}::uuid,
    case when t.r_sent < 0.7 then t.last_at + interval '2 minutes' else t.last_at - interval '1 hour' end
  from bench_t t
  where (t.assignee_id = ${agent}::uuid and t.n % 10 < 6) or (t.assignee_id is distinct from ${agent}::uuid and t.n % 10 = 0);

-- About 5 % of threads linked to one of the seeded shipments.
insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source, matched_identifier, created_at)
  select ${org}, t.id, s.id, case when t.n % 97 = 0 then 'rejected' else 'automatic' end, s.reference, t.last_at
  from bench_t t
  join app.shipments s on s.id = ('0f000000-0000-4000-8000-' || lpad((1 + t.n % 3)::text, 12, '0'))::uuid
  where t.n % 20 = 0;

-- Shipments over two years (created up to 730 days ago, departing 10 days after, arriving 3 days
-- later by air and 25 by sea), their status as the dates say; sea shipments with cut-offs before
-- departure and demurrage free days from discharge; identifiers in canonical form; four milestones
-- each (booked, departed, arrived, delivered; actual once past). Half the threads link to one
-- (a shipment has none, one or a few threads).
create temp table bench_s on commit drop as
  select n,
    overlay(overlay(md5('banxway-bench-shipment-' || n) placing '4' from 13) placing '8' from 17)::uuid as id,
    (array['sea_fcl', 'sea_fcl', 'sea_fcl', 'sea_fcl', 'sea_fcl', 'sea_fcl', 'sea_lcl', 'sea_lcl', 'air', 'air', 'air', 'air', 'road', 'rail', 'multimodal'])[1 + n % 15] as mode,
    now() - ((n * 7919) % 730) * interval '1 day' - (n % 86400) * interval '1 second' as created_at,
    (array[${CUSTOMER_PICK.join(', ')}])[1 + (n * 31) % ${CUSTOMER_PICK.length}] as customer_no
  from generate_series(1, ${size.shipments}) n;

insert into app.shipments (id, org_id, reference, customer_id, mode, direction, status, origin_port, destination_port, carrier,
    container_numbers, awb_numbers, bl_numbers, booking_numbers, etd, eta, atd, ata,
    si_cutoff_at, vgm_cutoff_at, doc_cutoff_at, cy_cutoff_at, demurrage_free_days, discharged_at, created_at, updated_at)
  select s.id, ${org}, 'BX/' || lpad(s.n::text, 7, '0'),
    ('0d000000-0000-4000-8000-' || lpad(s.customer_no::text, 12, '0'))::uuid,
    s.mode, case when s.n % 3 = 0 then 'import' else 'export' end,
    case when d.eta < now() - interval '60 days' then 'closed' when d.eta < now() - interval '5 days' then 'delivered'
         when d.eta < now() then 'arrived' when d.etd < now() then 'in_transit' else 'booked' end,
    (array['INNSA', 'INMUN', 'INMAA', 'SGSIN', 'CNSHA', 'AEJEA'])[1 + s.n % 6],
    (array['DEHAM', 'NLRTM', 'BEANR', 'GBFXT', 'USNYC', 'USLAX', 'JPTYO'])[1 + s.n % 7],
    case when s.mode = 'air' then 'LH' else 'MAEU' end,
    case when s.mode = 'sea_fcl' then array['BXBU' || lpad((s.n * 2)::text, 7, '0'), 'BXBU' || lpad((s.n * 2 + 1)::text, 7, '0')] else '{}' end,
    case when s.mode = 'air' then array['020-' || lpad(s.n::text, 8, '0')] else '{}' end,
    case when s.mode like 'sea%' then array['MAEU' || lpad(s.n::text, 9, '0')] else '{}' end,
    array['BK' || lpad(s.n::text, 8, '0')],
    d.etd, d.eta,
    case when d.etd < now() then d.etd end, case when d.eta < now() then d.eta end,
    case when s.mode like 'sea%' then d.etd - interval '3 days' end, case when s.mode like 'sea%' then d.etd - interval '2 days' end,
    case when s.mode like 'sea%' then d.etd - interval '3 days' end, case when s.mode like 'sea%' then d.etd - interval '1 day' end,
    case when s.mode like 'sea%' and s.n % 3 = 0 then 7 end,
    case when s.mode like 'sea%' and s.n % 3 = 0 and d.eta < now() then d.eta + interval '1 day' end,
    s.created_at, s.created_at
  from bench_s s
  cross join lateral (select s.created_at + interval '10 days' as etd,
    s.created_at + interval '10 days' + case when s.mode = 'air' then interval '3 days' else interval '25 days' end as eta) d;

insert into app.shipment_milestones (org_id, shipment_id, code, location, planned_at, actual_at, source, created_at, updated_at)
  select ${org}, sh.id, m.code, m.location, m.at, case when m.at < now() then m.at end, 'carrier', sh.created_at, sh.created_at
  from app.shipments sh
  join bench_s s on s.id = sh.id
  cross join lateral (values
    ('booking_confirmed', sh.origin_port, sh.created_at + interval '1 day'),
    ('departed', sh.origin_port, sh.etd),
    ('arrived', sh.destination_port, sh.eta),
    ('delivered', sh.destination_port, sh.eta + interval '5 days')) m(code, location, at)
  where sh.org_id = ${org};

insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source, matched_identifier, created_at)
  select ${org}, t.id, s.id, 'automatic', 'BX/' || lpad(s.n::text, 7, '0'), t.last_at
  from bench_t t
  join bench_s s on s.n = 1 + (t.n * 7) % ${Math.max(size.shipments, 1)}
  where t.n % 2 = 1 and t.n % 20 <> 0;

create table if not exists public.bench_meta (key text primary key, value jsonb not null, created_at timestamptz not null default now());
insert into public.bench_meta (key, value) values ('data', ${lit(JSON.stringify({ ...size, version: DATA_VERSION }))}::jsonb)
  on conflict (key) do update set value = excluded.value, created_at = now();
`;
}

/** Generates the data in one transaction and returns counts; then vacuum analyze (outside it). */
export async function generate(sql: Sql, size: DataSize): Promise<Record<string, number>> {
  await sql.begin(async (tx) => {
    await tx.unsafe(generationScript(size));
  });
  await sql.unsafe(
    'vacuum (analyze) app.threads, app.thread_tags, app.messages, app.thread_reads, app.thread_shipments, app.customers, app.members, app.shipments, app.shipment_deadlines, app.shipment_milestones',
  );
  return counts(sql);
}

/**
 * Service-level clocks on the threads with running or paused clocks (open, pending, snoozed), set
 * relative to now at every run (a reused data set would otherwise drift into "everything breached"):
 * one in ten has no policy; a thread with only the customer's message owes a first response (due from
 * 6 hours ago to 18 hours ahead), one whose last message is the customer's owes a next response (4 hours
 * ago to 44 ahead), and every one a resolution (12 hours ago to 6.5 days ahead). An open thread past a
 * due time is marked breached, as the sla-check cron would have; pending and snoozed ones are paused.
 * Spread by a hash of the id, so the same threads get the same offsets every run. About 11 % of open
 * threads are breached and 1.5 % at risk (due within the hour).
 */
export async function setClocks(sql: Sql): Promise<void> {
  await sql.unsafe(`
    with c as (
      select id, abs(hashtext(id::text)) % 10 <> 0 as clocked, abs(hashtext(id::text || 'f')) as h1,
             abs(hashtext(id::text || 'n')) as h2, abs(hashtext(id::text || 'r')) as h3
      from app.threads where org_id = '${SEED_ORG_ID}' and status in ('open', 'pending', 'snoozed'))
    update app.threads t set
      sla_policy_id = case when c.clocked then p.id end,
      first_response_due_at = case when c.clocked and t.message_count = 1 then now() + (c.h1 % 1440 - 360) * interval '1 minute' end,
      next_response_due_at = case when c.clocked and t.message_count > 1 and t.message_count % 2 = 1 then now() + (c.h2 % 2880 - 240) * interval '1 minute' end,
      resolution_due_at = case when c.clocked then now() + (c.h3 % 10080 - 720) * interval '1 minute' end,
      sla_paused_since = case when c.clocked and t.status <> 'open' then t.last_activity_at end,
      sla_breached_at = null
    from c, (select id from app.sla_policies where org_id = '${SEED_ORG_ID}' and is_default) p
    where t.id = c.id;
    update app.threads set sla_breached_at = least(first_response_due_at, next_response_due_at, resolution_due_at)
    where org_id = '${SEED_ORG_ID}' and status = 'open' and least(first_response_due_at, next_response_due_at, resolution_due_at) < now();`);
  await sql.unsafe('vacuum (analyze) app.threads');
}

export async function counts(sql: Sql): Promise<Record<string, number>> {
  const [row] = await sql<
    { threads: number; messages: number; threadReads: number; threadShipments: number; breachedThreads: number; shipments: number; milestones: number }[]
  >`
    select (select count(*) from app.threads where org_id = ${SEED_ORG_ID})::int as threads,
           (select count(*) from app.messages where org_id = ${SEED_ORG_ID})::int as messages,
           (select count(*) from app.thread_reads where org_id = ${SEED_ORG_ID})::int as thread_reads,
           (select count(*) from app.thread_shipments where org_id = ${SEED_ORG_ID})::int as thread_shipments,
           (select count(*) from app.threads where org_id = ${SEED_ORG_ID} and status = 'open' and sla_breached_at is not null)::int as breached_threads,
           (select count(*) from app.shipments where org_id = ${SEED_ORG_ID})::int as shipments,
           (select count(*) from app.shipment_milestones where org_id = ${SEED_ORG_ID})::int as milestones`;
  return { ...row! };
}

/** The size recorded by a completed generation, if any. */
export async function generatedSize(sql: Sql): Promise<DataSize | undefined> {
  const [exists] = await sql`select to_regclass('public.bench_meta') is not null as ok`;
  if (!exists?.ok) return undefined;
  const [row] = await sql<{ value: DataSize & { version?: number } }[]>`select value from public.bench_meta where key = 'data'`;
  return row && row.value.version === DATA_VERSION ? row.value : undefined;
}

/**
 * The analytics fact rows the writing path keeps, for the generated conversations (once per data set):
 * a response for each outbound message that follows a customer's (messages alternate, so the second
 * message is the first response), by its author; first-response and resolution outcomes
 * for every resolved or closed thread (met by a hash of the id, about 70 %); and the first message of
 * each linked thread linked to its shipment (the triggers keep app.shipment_rollups); an intent and a
 * sentiment for every customer message, in the analysis rollups.
 */
export async function analyticsFacts(sql: Sql): Promise<void> {
  const [analysed] = await sql`select 1 from app.message_analysis_rollups where org_id = ${SEED_ORG_ID} limit 1`;
  if (!analysed) {
    // The analysis of every customer message, as the analysis job's trigger counts it (by hash of the id).
    await sql.unsafe(`
      insert into app.message_analysis_rollups (org_id, bucket, channel, channel_id, team_id, customer_id, intent, sentiment, slot, messages, score_sum, scored)
      select m.org_id, app.quarter_hour(m.occurred_at), m.channel, m.channel_id, t.team_id, t.customer_id,
        (array['booking', 'rate_request', 'tracking', 'documents', 'invoice', 'other'])[1 + abs(hashtext(m.id::text)) % 6],
        (array['positive', 'neutral', 'negative'])[1 + abs(hashtext(m.id::text || 's')) % 3], 0,
        count(*), sum((abs(hashtext(m.id::text || 'x')) % 200 - 100) / 100.0), count(*)
      from app.messages m join app.threads t on t.id = m.thread_id
      where m.org_id = '${SEED_ORG_ID}' and m.direction = 'inbound'
      group by 1, 2, 3, 4, 5, 6, 7, 8
      on conflict on constraint message_analysis_rollups_key do nothing`);
  }
  // The seed records the few responses of its own threads (lib/dev/seed.ts): the facts are there once
  // more than those are.
  const [have] = await sql`select count(*) > 100 as done from (select 1 from app.message_responses where org_id = ${SEED_ORG_ID} limit 101) r`;
  if (have!.done) return;
  await sql.begin(async (tx) => {
    await tx.unsafe(`
      with seq as (
        select m.id, m.thread_id, m.direction, m.author_id, m.occurred_at,
          lag(m.direction) over w as prev_direction, lag(m.occurred_at) over w as prev_at, row_number() over w as k
        from app.messages m where m.org_id = '${SEED_ORG_ID}' and m.kind = 'message'
        window w as (partition by m.thread_id order by m.occurred_at, m.arrival))
      insert into app.message_responses (message_id, org_id, thread_id, responder_id, automated, first, since, at, wall_ms, business_ms,
                                         policy_id, channel, channel_id, team_id, customer_id)
      select s.id, t.org_id, s.thread_id, s.author_id, false, s.k = 2, s.prev_at, s.occurred_at,
        floor(extract(epoch from s.occurred_at - s.prev_at) * 1000)::bigint,
        floor(extract(epoch from s.occurred_at - s.prev_at) * 1000 * 0.4)::bigint, t.sla_policy_id, t.channel, t.channel_id, t.team_id, t.customer_id
      from seq s join app.threads t on t.id = s.thread_id
      where s.direction = 'outbound' and s.prev_direction = 'inbound'
      on conflict (message_id) do nothing;

      insert into app.sla_outcomes (org_id, thread_id, target, priority, business, target_minutes, elapsed_ms, met, started_at, at)
      select t.org_id, t.id, x.target, t.priority, x.target = 'firstResponse', x.minutes, e.ms, e.ms <= x.minutes * 60000, t.created_at, t.last_activity_at
      from app.threads t
      cross join (values ('firstResponse', 60), ('resolution', 1440)) x(target, minutes)
      cross join lateral (select (abs(hashtext(t.id::text || x.target)) % (x.minutes * 60000 * 10 / 7))::bigint as ms) e
      where t.org_id = '${SEED_ORG_ID}' and t.status in ('resolved', 'closed');

      insert into app.message_shipments (org_id, message_id, shipment_id, link_source, matched_identifier)
      select l.org_id, m.id, l.shipment_id, 'automatic', l.matched_identifier
      from app.thread_shipments l
      cross join lateral (select id from app.messages where org_id = l.org_id and thread_id = l.thread_id order by occurred_at limit 1) m
      where l.org_id = '${SEED_ORG_ID}' and l.link_source <> 'rejected'
      on conflict do nothing;`);
  });
  await layOutRollups(sql);
  await sql.unsafe('vacuum (analyze) app.message_responses, app.sla_outcomes, app.message_shipments');
}

/** The rollup tables: each row a bucket at its level (quarter hour, hour, UTC day) and its dimensions. */
const ROLLUP_TABLES = [
  'app.message_rollups',
  'app.message_traffic',
  'app.message_author_totals',
  'app.message_analysis_rollups',
  'app.message_analysis_totals',
  'app.shipment_rollups',
];

/**
 * The rollup tables' rows in the order live writing leaves them. Generating the messages thread by
 * thread scatters each bucket's rows over the whole table (a 90-day report then read a page for every
 * row or two); in use, rows are written as messages arrive, so a row lies with the others whose last
 * message came at about the same time: by the end of its bucket, finer levels first. Rewritten as
 * they are (triggers off: the counts do not change), then vacuumed and analysed (visibility maps for
 * index-only scans, statistics for the planner).
 */
async function layOutRollups(sql: Sql): Promise<void> {
  for (const table of ROLLUP_TABLES) {
    await sql.begin(async (tx) => {
      await tx.unsafe('set local session_replication_role = replica');
      await tx.unsafe(`
        create temporary table bench_layout on commit drop as
          select * from ${table}
          order by org_id, bucket + case level when 0 then interval '15 minutes' when 1 then interval '1 hour' else interval '1 day' end, level;
        truncate ${table};
        insert into ${table} select * from bench_layout;`);
    });
    await sql.unsafe(`vacuum (analyze) ${table}`);
  }
}
