import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { actAsMember } from '../../lib/http/route.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase();
});
afterAll(() => db.close());

const ids = (res: { body: { data: { id: string }[] } }) => res.body.data.map((t) => t.id);

type Status = 'open' | 'pending' | 'snoozed' | 'resolved' | 'closed';
type Priority = 'low' | 'normal' | 'high' | 'urgent';
type Assignee = 'agent' | 'manager' | 'admin' | null;
interface Spec {
  subject: string;
  channel: 'email' | 'whatsapp' | 'voice';
  status: Status;
  priority: Priority;
  assignee: Assignee;
  team?: boolean;
  customer?: 'tata' | 'hamburg';
  shipment?: 'export' | 'import';
  tags: string[];
  messages: boolean;
  readByAgent?: boolean;
}

// The inbox of ownInbox(), newest activity first: one thread of each shape the filters tell apart.
const INBOX = {
  booking: {
    subject: 'Booking confirmation for 2x40HC Nhava Sheva to Hamburg',
    channel: 'email',
    status: 'open',
    priority: 'high',
    assignee: 'agent',
    team: true,
    customer: 'tata',
    shipment: 'export',
    tags: ['booking'],
    messages: true,
  },
  quote: {
    subject: 'Air freight quote: 850 kg pharma AMD to AMS',
    channel: 'email',
    status: 'pending',
    priority: 'normal',
    assignee: 'manager',
    team: true,
    tags: ['quote', 'pharma'],
    messages: true,
  },
  customs: {
    subject: 'Bill of entry query - HLXU3002457',
    channel: 'email',
    status: 'open',
    priority: 'urgent',
    assignee: 'agent',
    customer: 'tata',
    shipment: 'import',
    tags: ['customs'],
    messages: true,
  },
  truck: {
    subject: 'Truck placement at Bhiwandi tomorrow 7 AM',
    channel: 'whatsapp',
    status: 'open',
    priority: 'normal',
    assignee: null,
    tags: ['transport'],
    messages: true,
  },
  prealert: {
    subject: 'Pre-alert: BERLIN EXPRESS 032E arriving JNPT',
    channel: 'email',
    status: 'resolved',
    priority: 'low',
    assignee: 'agent',
    customer: 'hamburg',
    shipment: 'import',
    tags: ['pre-alert'],
    messages: true,
    readByAgent: true,
  },
  complaint: {
    subject: 'Complaint: delayed delivery and damaged cartons',
    channel: 'email',
    status: 'open',
    priority: 'high',
    assignee: 'manager',
    customer: 'hamburg',
    tags: ['complaint'],
    messages: true,
  },
  call: { subject: 'Missed call from +91 98200 98200', channel: 'voice', status: 'open', priority: 'normal', assignee: null, tags: [], messages: false },
  invoice: {
    subject: 'Invoice SHL/INV/2026/1187 payment reminder',
    channel: 'email',
    status: 'snoozed',
    priority: 'low',
    assignee: 'admin',
    customer: 'tata',
    tags: ['billing'],
    messages: true,
  },
  documents: {
    subject: 'Documents for shipment SHL/EXP/2026/0412',
    channel: 'email',
    status: 'closed',
    priority: 'normal',
    assignee: 'agent',
    customer: 'tata',
    shipment: 'export',
    tags: ['documents'],
    messages: true,
    readByAgent: true,
  },
} satisfies Record<string, Spec>;
type Name = keyof typeof INBOX;

/**
 * An organization of the test's own holding INBOX (with its own team, customers, a contact and
 * shipments), so a list answers exactly these rows whatever other tests add to or change in the
 * seeded one, whose look-alike threads (same subjects) must never show.
 */
async function ownInbox() {
  const org = await newOrganization(db.sql);
  const sql = db.sql;
  const [team] = await sql<{ id: string }[]>`insert into app.teams (org_id, name) values (${org.id}, 'Sea Exports') returning id`;
  const [tata] = await sql<
    { id: string }[]
  >`insert into app.customers (org_id, name, kind, tier) values (${org.id}, 'Tata Textiles Exports Pvt Ltd', 'shipper', 'strategic') returning id`;
  const [hamburg] = await sql<
    { id: string }[]
  >`insert into app.customers (org_id, name, kind, tier) values (${org.id}, 'Hamburg Home GmbH', 'consignee', 'key') returning id`;
  const [karthik] = await sql<
    { id: string }[]
  >`insert into app.contacts (org_id, customer_id, name, email) values (${org.id}, ${tata!.id}, 'Karthik Subramanian', ${`karthik@${org.domain}`}) returning id`;
  const shipment = {
    export: (
      await sql<
        { id: string }[]
      >`insert into app.shipments (org_id, reference, customer_id, mode) values (${org.id}, 'SHL/EXP/2026/0412', ${tata!.id}, 'sea_fcl') returning id`
    )[0]!.id,
    import: (
      await sql<
        { id: string }[]
      >`insert into app.shipments (org_id, reference, customer_id, mode, direction) values (${org.id}, 'SHL/IMP/2026/0077', ${hamburg!.id}, 'sea_fcl', 'import') returning id`
    )[0]!.id,
  };
  const customer = { tata: tata!.id, hamburg: hamburg!.id };
  const thread = {} as Record<Name, string>;
  for (const [i, [name, t]] of (Object.entries(INBOX) as [Name, Spec][]).entries()) {
    const at = new Date(Date.now() - (i + 1) * 60_000);
    const [row] = await sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, normalized_subject, status, priority, channel, customer_id, contact_id, assignee_id, team_id,
        tags, snoozed_until, message_count, last_message_at, last_activity_at, resolved_at, closed_at)
      values (${org.id}, ${t.subject}, ${t.subject.toLowerCase()}, ${t.status}, ${t.priority}, ${t.channel},
        ${t.customer ? customer[t.customer] : null}, ${t.customer === 'tata' ? karthik!.id : null},
        ${t.assignee ? org.users[t.assignee].id : null}, ${t.team ? team!.id : null}, ${t.tags}::text[],
        ${t.status === 'snoozed' ? new Date(Date.now() + 86_400_000) : null}, ${t.messages ? 1 : 0}, ${t.messages ? at : null}, ${at},
        ${t.status === 'resolved' ? at : null}, ${t.status === 'closed' ? at : null})
      returning id`;
    thread[name] = row!.id;
    if (t.shipment) {
      await sql`insert into app.thread_shipments (org_id, thread_id, shipment_id, link_source) values (${org.id}, ${row!.id}, ${shipment[t.shipment]}, 'automatic')`;
    }
    if (t.readByAgent) {
      await sql`insert into app.thread_reads (org_id, thread_id, user_id, last_read_at) values (${org.id}, ${row!.id}, ${org.users.agent.id}, now())`;
    }
  }
  /** The ids of the named threads, in the list's order (newest activity first). */
  const listOf = (...names: Name[]) => (Object.keys(INBOX) as Name[]).filter((n) => names.includes(n)).map((n) => thread[n]);
  return { org, team: team!.id, customer, contact: karthik!.id, shipment, thread, listOf };
}

/** A thread of the test's own in the seeded organization, with a message its members have not read. */
async function ownThread(subject: string): Promise<string> {
  const at = new Date(Date.now() - 60_000);
  const [row] = await db.sql<{ id: string }[]>`
    insert into app.threads (org_id, subject, normalized_subject, channel, message_count, last_message_at, last_activity_at)
    values (${SEED_ORG_ID}, ${subject}, ${subject.toLowerCase()}, 'email', 1, ${at}, ${at}) returning id`;
  return row!.id;
}

describe('threads', () => {
  it('lists the inbox by last activity, only for the caller organization', async () => {
    const { org, listOf } = await ownInbox();
    const res = await org.json('GET', '/api/threads?limit=100');
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual(listOf(...(Object.keys(INBOX) as Name[])));
    const times = res.body.data.map((t: any) => Date.parse(t.lastActivityAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(res.body.nextCursor).toBeNull();
  });

  it('filters by status, channel, assignee, team, customer, shipment, priority, tag, unread and subject', async () => {
    const { org, team, customer, shipment, listOf } = await ownInbox();
    const q = async (s: string) => ids(await org.json('GET', `/api/threads?limit=100&${s}`));
    expect(await q('status=open')).toEqual(listOf('booking', 'customs', 'truck', 'complaint', 'call'));
    expect(await q('status=resolved,closed')).toEqual(listOf('prealert', 'documents'));
    expect(await q('channel=whatsapp')).toEqual(listOf('truck'));
    expect(await q('assignee=me')).toEqual(listOf('booking', 'customs', 'prealert', 'documents'));
    expect(await q('assignee=none')).toEqual(listOf('truck', 'call'));
    expect(await q(`team=${team}`)).toEqual(listOf('booking', 'quote'));
    expect(await q(`customer=${customer.hamburg}`)).toEqual(listOf('prealert', 'complaint'));
    expect(await q(`shipment=${shipment.import}`)).toEqual(listOf('customs', 'prealert'));
    expect(await q('priority=urgent')).toEqual(listOf('customs'));
    expect(await q('priority=urgent,high')).toEqual(listOf('booking', 'customs', 'complaint'));
    expect(await q('tag=complaint')).toEqual(listOf('complaint'));
    expect(await q('q=HAMBURG')).toEqual(listOf('booking'));
    expect(await q('unread=true')).toEqual(listOf('booking', 'quote', 'customs', 'truck', 'complaint', 'invoice'));
    const bad = await org.json('GET', '/api/threads?status=archived&assignee=someone');
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: any) => i.path).sort()).toEqual(['query.assignee', 'query.status.0']);
  });

  it('reads one thread with its customer, contact and linked shipments', async () => {
    const { org, thread, customer, contact, shipment } = await ownInbox();
    const [linked] = (await org.json('GET', `/api/threads?shipment=${shipment.export}`)).body.data;
    expect(linked.id).toBe(thread.booking);
    const read = await org.json('GET', `/api/threads/${linked.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: linked.id, subject: linked.subject, unread: linked.unread, customerId: customer.tata, contactId: contact });
    expect(read.body.customer).toEqual({ id: customer.tata, name: 'Tata Textiles Exports Pvt Ltd', kind: 'shipper', tier: 'strategic' });
    expect(read.body.contact).toMatchObject({ id: contact });
    expect(read.body.shipments).toContainEqual(
      expect.objectContaining({
        id: shipment.export,
        linkSource: 'automatic',
        reference: 'SHL/EXP/2026/0412',
      }),
    );
    expect((await org.json('GET', '/api/threads/100000ff-0000-4000-8000-0000000000ff')).status).toBe(404);
    // Another organization's thread is as absent as one that never existed.
    expect((await org.json('GET', '/api/threads/10000001-0000-4000-8000-000000000001')).status).toBe(404);
  });

  it("plans the inbox list for each request's values, for that transaction only (with prepared statements)", async () => {
    // A cached generic plan cannot see how selective a filter is: for tag=booking&priority=high it
    // read every high-priority thread and sorted them (see bench/api.ts, the plan check).
    const { GET } = await import('../../api/threads/index.js');
    expect(GET.meta.customPlans).toBe(true);
    const modes = await db.sql.begin(async (tx) => {
      await actAsMember(tx, { userId: SEED_USERS.agent.id }, null, true);
      const [inside] = await tx<{ mode: string }[]>`select current_setting('plan_cache_mode') as mode`;
      return inside!.mode;
    });
    expect(modes).toBe('force_custom_plan');
    const [after] = await db.sql<{ mode: string }[]>`select current_setting('plan_cache_mode') as mode`;
    expect(after!.mode).toBe('auto');
  });

  it('pages through threads with a cursor', async () => {
    const { org, listOf } = await ownInbox();
    const first = await org.json('GET', '/api/threads?limit=4');
    const second = await org.json('GET', `/api/threads?limit=4&cursor=${first.body.nextCursor}`);
    const third = await org.json('GET', `/api/threads?limit=4&cursor=${second.body.nextCursor}`);
    const all = await org.json('GET', '/api/threads?limit=12');
    expect(ids(all)).toEqual(listOf(...(Object.keys(INBOX) as Name[])));
    expect([...ids(first), ...ids(second), ...ids(third)]).toEqual(ids(all));
    expect(third.body.nextCursor).toBeNull();
  });

  it('creates a thread, reads it with customer and shipments, and edits it', async () => {
    const since = await broadcastsSince(db.sql);
    const created = await json('POST', '/api/threads', {
      body: { subject: 'LCL rates Chennai to Jebel Ali', customerId: '0d000000-0000-4000-8000-000000000001', priority: 'high', tags: ['Quote'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'open', priority: 'high', tags: ['quote'], channel: 'email', createdBy: SEED_USERS.agent.id });
    const id = created.body.id;
    const read = await json('GET', `/api/threads/${id}`);
    expect(read.body.customer).toMatchObject({ name: 'Tata Textiles Exports Pvt Ltd', kind: 'shipper' });
    expect(read.body.shipments).toEqual([]);
    const edited = await json('PATCH', `/api/threads/${id}`, { body: { priority: 'urgent', status: 'pending', tags: ['quote', 'lcl'] } });
    expect(edited.body).toMatchObject({ priority: 'urgent', status: 'pending', tags: ['quote', 'lcl'] });
    const resolved = await json('PATCH', `/api/threads/${id}`, { body: { status: 'resolved' } });
    expect(resolved.body.resolvedAt).not.toBeNull();
    const events = await since();
    expect(events.map((e) => `${e.topic} ${e.event}`)).toEqual([
      `org:${SEED_ORG_ID} thread.created`,
      `org:${SEED_ORG_ID}:thread:${id} thread.created`,
      `org:${SEED_ORG_ID} thread.updated`,
      `org:${SEED_ORG_ID}:thread:${id} thread.updated`,
      `org:${SEED_ORG_ID} thread.updated`,
      `org:${SEED_ORG_ID}:thread:${id} thread.updated`,
    ]);
    const viewer = await json('PATCH', `/api/threads/${id}`, { as: 'viewer', body: { priority: 'low' } });
    expect(viewer.status).toBe(403);
    const foreign = await json('POST', '/api/threads', { body: { subject: 'x', customerId: '0d000000-0000-4000-8000-000000000099' } });
    expect(foreign.status).toBe(422);
  });

  it('snoozes until a time, and a job reopens it then and not before', async () => {
    const id = await ownThread('Truck placement at Bhiwandi tomorrow 7 AM');
    const until = new Date(Date.now() + 60_000).toISOString();
    const snoozed = await json('PATCH', `/api/threads/${id}`, { body: { status: 'snoozed', snoozedUntil: until } });
    expect(snoozed.status).toBe(200);
    expect(snoozed.body.status).toBe('snoozed');
    expect(new Date(snoozed.body.snoozedUntil).toISOString()).toBe(until);
    expect(await drainJobs()).toEqual([]);
    expect((await json('GET', `/api/threads/${id}`)).body.status).toBe('snoozed');
    // Time passes: move the job and the snooze into the past as if the clock had advanced.
    await db.sql`update app.outbox set run_at = now() - interval '1 second' where name = 'thread.unsnooze' and payload->>'threadId' = ${id}`;
    expect(await drainJobs()).toEqual(['done']);
    const reopened = await json('GET', `/api/threads/${id}`);
    expect(reopened.body).toMatchObject({ status: 'open', snoozedUntil: null });
    const noUntil = await json('PATCH', `/api/threads/${id}`, { body: { status: 'snoozed' } });
    expect(noUntil.status).toBe(422);
    expect(noUntil.body.error.details.issues[0].path).toBe('body.snoozedUntil');
    const past = await json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: '2020-01-01T00:00:00Z' } });
    expect(past.status).toBe(422);
  });

  it('ignores a stale unsnooze job when the thread was reopened or snoozed again', async () => {
    const id = await ownThread('Vessel schedule change: MAERSK KENSINGTON delayed 48h');
    await json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: new Date(Date.now() + 3_600_000).toISOString() } });
    const later = new Date(Date.now() + 7_200_000).toISOString();
    await json('PATCH', `/api/threads/${id}`, { body: { snoozedUntil: later } });
    await db.sql`update app.outbox set run_at = now() - interval '1 second' where name = 'thread.unsnooze' and status = 'pending' and payload->>'threadId' = ${id}`;
    expect(await drainJobs()).toEqual(['done', 'done']);
    const t = await json('GET', `/api/threads/${id}`);
    expect(t.body.status).toBe('open');
  });

  it('assigns and unassigns, notifying the assignee on their user topic', async () => {
    const id = await ownThread('Truck placement at Bhiwandi, second truck');
    const since = await broadcastsSince(db.sql);
    const assigned = await json('POST', `/api/threads/${id}/assign`, {
      as: 'manager',
      body: { assigneeId: SEED_USERS.agent.id, teamId: '0c000000-0000-4000-8000-000000000001' },
    });
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ assigneeId: SEED_USERS.agent.id, teamId: '0c000000-0000-4000-8000-000000000001' });
    const events = await since();
    expect(events.map((e) => `${e.topic} ${e.event}`)).toEqual([
      `user:${SEED_USERS.agent.id} notification.created`,
      `org:${SEED_ORG_ID} thread.assigned`,
      `org:${SEED_ORG_ID}:thread:${id} thread.assigned`,
    ]);
    const [n] = await db.sql`select type, thread_id from app.notifications where user_id = ${SEED_USERS.agent.id} and thread_id = ${id}`;
    expect(n).toMatchObject({ type: 'assignment' });
    const outsider = await json('POST', `/api/threads/${id}/assign`, { body: { assigneeId: SEED_USERS.other.id } });
    expect(outsider.status).toBe(422);
    expect(outsider.body.error.details.issues[0].path).toBe('body.assigneeId');
    const unassigned = await json('POST', `/api/threads/${id}/unassign`);
    expect(unassigned.body.assigneeId).toBeNull();
  });

  it('keeps read state per member', async () => {
    const id = await ownThread('Booking confirmation for 1x20GP Mundra to Jebel Ali');
    expect((await json('GET', `/api/threads/${id}`)).body.unread).toBe(true);
    const read = await json('PUT', `/api/threads/${id}/read`);
    expect(read.body).toEqual({ threadId: id, unread: false });
    expect((await json('GET', `/api/threads/${id}`)).body.unread).toBe(false);
    expect((await json('GET', `/api/threads/${id}`, { as: 'manager' })).body.unread).toBe(true);
    expect((await json('PUT', `/api/threads/${id}/read`, { as: 'viewer' })).status).toBe(200);
    const unread = await json('DELETE', `/api/threads/${id}/read`);
    expect(unread.body.unread).toBe(true);
  });
});
