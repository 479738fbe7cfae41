// Shipments (issue 19): CRUD and validation, the list's filters and reference search, identifiers on
// messages and the links they make, milestones with derived status/ETA and their events, the timeline.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../lib/context.js';
import { runJob } from '../../lib/jobs/run.js';
import '../../lib/jobs/all.js';
import { backfillBatch } from '../../lib/shipments/backfill.js';
import { onShipmentEvent, type DeliveredShipmentEvent } from '../../lib/shipments/events.js';
import { setClock } from '../../lib/time.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let org: TestOrg;
beforeAll(async () => {
  db = await testDatabase();
  org = await newOrganization(db.sql);
});
afterAll(() => db.close());

const ref = () => `JOB/${randomUUID().slice(0, 8)}`;
// Valid check digits (ISO 6346 / mod 7).
const C1 = 'MSKU1234565';
const C2 = 'TGHU8765436';
const C3 = 'CSQU3054383';
const AWB = '176-12345675';

async function shipment(o: TestOrg, body: Record<string, unknown>) {
  const res = await o.json('POST', '/api/shipments', { body: { reference: ref(), mode: 'sea_fcl', ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A thread with one inbound message naming these identifiers, stored as ingest stores it. */
async function threadNaming(o: TestOrg, identifiers: string[], text = `About ${identifiers.join(', ')}`) {
  const [t] = await db.sql<{ id: string }[]>`insert into app.threads (org_id, subject) values (${o.id}, ${text}) returning id`;
  const [m] = await db.sql<{ id: string }[]>`
    insert into app.messages (org_id, thread_id, channel, direction, status, subject, body_text, identifiers, occurred_at)
    values (${o.id}, ${t!.id}, 'email', 'inbound', 'received', ${text}, ${text}, ${identifiers}::text[], now()) returning id`;
  return { threadId: t!.id, messageId: m!.id };
}

async function jobsOf(o: TestOrg, name: string) {
  return db.sql<
    { id: string; payload: any }[]
  >`select id, payload from app.outbox where org_id = ${o.id} and name = ${name} and status = 'pending' order by created_at`;
}

describe('shipments', () => {
  it('creates a shipment with references in canonical form and port names, and answers it', async () => {
    const o = await newOrganization(db.sql);
    const since = await broadcastsSince(db.sql);
    const [customer] = await db.sql<{ id: string }[]>`insert into app.customers (org_id, name) values (${o.id}, 'Tata Textiles') returning id`;
    const created = await shipment(o, {
      customerId: customer!.id,
      direction: 'export',
      containers: ['msku 123456-5', 'TGHU 876543 6'],
      awbs: [],
      mbls: ['maeu 123456789'],
      bookings: ['bkg2611458'],
      poNumbers: ['po 4711'],
      originPort: 'innsa',
      destinationPort: 'DEHAM',
      incoterm: 'FOB',
      incotermPlace: 'Nhava Sheva',
      containerTypes: ['40HC', '20GP'],
      packages: 120,
      grossWeightKg: 18250.5,
      parties: { shipper: { customerId: customer!.id }, consignee: { name: 'Hamburg Home GmbH' } },
      siCutoffAt: '2027-01-05T12:00:00+05:30',
      vgmCutoffAt: '2027-01-04T18:00:00+05:30',
    });
    expect(created).toMatchObject({
      containers: [C1, C2],
      mbls: ['MAEU123456789'],
      bookings: ['BKG2611458'],
      poNumbers: ['PO4711'],
      originPort: 'INNSA',
      originName: 'Nhava Sheva (Jawaharlal Nehru)',
      destinationName: 'Hamburg',
      customerName: 'Tata Textiles',
      status: 'booked',
      nextCutoffAt: '2027-01-04T12:30:00.000Z',
      parties: { shipper: { customerId: customer!.id }, consignee: { name: 'Hamburg Home GmbH' } },
    });
    const read = await o.json('GET', `/api/shipments/${created.id}`);
    expect(read.body).toEqual(created);
    const events = (await since()).filter((e) => e.payload.orgId === o.id);
    expect(events.map((e) => [e.topic, e.event])).toEqual(
      expect.arrayContaining([
        [`org:${o.id}`, 'shipment.created'],
        [`org:${o.id}:shipment:${created.id}`, 'shipment.created'],
      ]),
    );
  });

  it('refuses bad input naming the field', async () => {
    const bad = async (body: Record<string, unknown>) => org.json('POST', '/api/shipments', { body: { reference: ref(), mode: 'sea_fcl', ...body } });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ containers: ['MSKU1234566'] }, 'body.containers.0'],
      [{ awbs: ['176-12345676'] }, 'body.awbs.0'],
      [{ originPort: 'IN1SA' }, 'body.originPort'],
      [{ destinationPort: 'IN1' }, 'body.destinationPort'],
      [{ incoterm: 'FOT' }, 'body.incoterm'],
      [{ containerTypes: ['40XX'] }, 'body.containerTypes.0'],
      [{ mode: 'ship' }, 'body.mode'],
      [{ etd: 'tomorrow' }, 'body.etd'],
      [{ customerId: randomUUID() }, 'body.customerId'],
      [{ parties: { shipper: { customerId: randomUUID() } } }, 'body.parties.shipper.customerId'],
    ];
    for (const [body, path] of cases) {
      const res = await bad(body);
      expect(res.status, path).toBe(422);
      expect(res.body.error.details.issues.map((i: any) => i.path)).toContain(path);
    }
    const reference = ref();
    expect((await org.json('POST', '/api/shipments', { body: { reference, mode: 'air' } })).status).toBe(201);
    const dup = await org.json('POST', '/api/shipments', { body: { reference, mode: 'air' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.details.issues[0].path).toBe('body.reference');
    expect((await org.json('POST', '/api/shipments', { as: 'viewer', body: { reference: ref(), mode: 'air' } })).status).toBe(403);
  });

  it('edits and deletes a shipment; deleting is for managers', async () => {
    const s = await shipment(org, {});
    const edited = await org.json('PATCH', `/api/shipments/${s.id}`, { body: { vessel: 'MAERSK KENSINGTON', voyage: '447W', status: 'in_transit' } });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ vessel: 'MAERSK KENSINGTON', voyage: '447W', status: 'in_transit' });
    expect((await org.json('DELETE', `/api/shipments/${s.id}`)).status).toBe(403);
    expect((await org.json('DELETE', `/api/shipments/${s.id}`, { as: 'manager' })).status).toBe(204);
    expect((await org.json('GET', `/api/shipments/${s.id}`)).status).toBe(404);
  });

  it('lists with filters, windows and a reference in any written form, page by page', async () => {
    const o = await newOrganization(db.sql);
    const a = await shipment(o, {
      containers: [C1],
      originPort: 'INNSA',
      destinationPort: 'DEHAM',
      eta: '2027-02-10T00:00:00Z',
      cyCutoffAt: '2027-01-03T10:00:00Z',
    });
    const b = await shipment(o, { mode: 'air', awbs: [AWB], originPort: 'INBOM', destinationPort: 'USJFK', eta: '2027-02-01T00:00:00Z', status: 'in_transit' });
    const c = await shipment(o, {
      containers: [C3],
      originPort: 'CNSHA',
      destinationPort: 'INNSA',
      demurrageFreeDays: 5,
      dischargedAt: '2027-01-10T08:00:00Z',
      docCutoffAt: '2027-01-20T10:00:00Z',
    });
    expect(c.demurrageLastFreeDay).toBe('2027-01-14');
    expect(c.freeTimeEndsOn).toBe('2027-01-14');
    const ids = async (query: string) => (await o.json('GET', `/api/shipments?${query}`)).body.data.map((s: any) => s.id);

    expect(await ids('')).toEqual([c.id, b.id, a.id]);
    expect(await ids('mode=air')).toEqual([b.id]);
    expect(await ids('status=booked')).toEqual([c.id, a.id]);
    expect(await ids('port=INNSA')).toEqual([c.id, a.id]);
    expect(await ids('destination=deham')).toEqual([a.id]);
    expect(await ids('etaFrom=2027-01-31T00:00:00Z&etaTo=2027-02-05T00:00:00Z')).toEqual([b.id]);
    expect(await ids('sort=eta')).toEqual([b.id, a.id]);
    expect(await ids('cutoffFrom=2027-01-03T00:00:00Z&cutoffTo=2027-01-05T00:00:00Z')).toEqual([a.id]);
    expect(await ids('sort=cutoff')).toEqual([a.id, c.id]);
    expect(await ids('freeTimeFrom=2027-01-11&freeTimeTo=2027-01-17')).toEqual([c.id]);
    expect(await ids(`ref=${encodeURIComponent('msku 123456-5')}`)).toEqual([a.id]);
    expect(await ids(`ref=${encodeURIComponent('176 1234 5675')}`)).toEqual([b.id]);
    expect(await ids(`ref=${encodeURIComponent(a.reference.toLowerCase())}`)).toEqual([a.id]);
    expect(await ids('ref=NOTHING123')).toEqual([]);
    // Dashes and slashes as stored or not, and a bracketed check digit.
    const d = await shipment(o, { mbls: ['ONEY-SHAX12345'], bookings: ['BK/2027/0042'], poNumbers: ['PO-4711/B'] });
    for (const typed of ['oneyshax12345', 'ONEY-SHAX12345', 'bk20270042', 'BK-2027-0042', 'PO4711B', 'po/4711/b']) {
      expect(await ids(`ref=${encodeURIComponent(typed)}`), typed).toEqual([d.id]);
    }
    expect(await ids(`ref=${encodeURIComponent('MSKU 123456(5)')}`)).toEqual([a.id]);
    await o.json('DELETE', `/api/shipments/${d.id}`, { as: 'manager' });
    const bad = await o.json('GET', '/api/shipments?port=XX&etaFrom=soon');
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: any) => i.path).sort()).toEqual(['query.etaFrom', 'query.port']);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await o.json('GET', `/api/shipments?sort=eta&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.data.map((s: any) => s.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([b.id, a.id]);
  });
});

describe('more of the list and the rules', () => {
  it('filters by customer, direction, origin and ETD window, and sorts by ETD', async () => {
    const o = await newOrganization(db.sql);
    const [cust] = await db.sql<{ id: string }[]>`insert into app.customers (org_id, name) values (${o.id}, 'Shreeji Exports') returning id`;
    const a = await shipment(o, { customerId: cust!.id, direction: 'export', originPort: 'INNSA', etd: '2027-05-03T00:00:00Z' });
    const b = await shipment(o, { direction: 'import', originPort: 'CNSHA', destinationPort: 'INNSA', etd: '2027-05-01T00:00:00Z' });
    const c = await shipment(o, { customerId: cust!.id, direction: 'cross_trade', originPort: 'SGSIN', etd: '2027-06-01T00:00:00Z' });
    const ids = async (query: string) => (await o.json('GET', `/api/shipments?${query}`)).body.data.map((s: any) => s.id);
    expect(await ids(`customer=${cust!.id}`)).toEqual([c.id, a.id]);
    expect(await ids('direction=import')).toEqual([b.id]);
    expect(await ids('direction=export,cross_trade')).toEqual([c.id, a.id]);
    expect(await ids('origin=innsa')).toEqual([a.id]);
    expect(await ids('etdFrom=2027-05-01T00:00:00Z&etdTo=2027-05-31T00:00:00Z')).toEqual([b.id, a.id]);
    expect(await ids('sort=etd')).toEqual([b.id, a.id, c.id]);
    expect(await ids(`sort=etd&customer=${cust!.id}&etdTo=2027-05-31T00:00:00Z`)).toEqual([a.id]);
  });

  it('refuses a mode change while milestones of another mode remain, naming the field', async () => {
    const o = await newOrganization(db.sql);
    const s = await shipment(o, {});
    await o.json('POST', `/api/shipments/${s.id}/milestones`, { body: { code: 'empty_pickup', actualAt: '2027-01-01T00:00:00Z' } });
    await o.json('POST', `/api/shipments/${s.id}/milestones`, { body: { code: 'gate_in', actualAt: '2027-01-02T00:00:00Z' } });
    const toAir = await o.json('PATCH', `/api/shipments/${s.id}`, { body: { mode: 'air' } });
    expect(toAir.status).toBe(409);
    expect(toAir.body.error.details.issues).toEqual([{ path: 'body.mode', message: expect.stringContaining('empty_pickup, gate_in') }]);
    const toLcl = await o.json('PATCH', `/api/shipments/${s.id}`, { body: { mode: 'sea_lcl' } });
    expect(toLcl.status).toBe(409);
    expect(toLcl.body.error.details.issues[0].message).toContain('empty_pickup');
    expect((await o.json('PATCH', `/api/shipments/${s.id}`, { body: { mode: 'road' } })).body.mode).toBe('road');
  });

  it('derives customs at destination from customs clearance; an export clearance keeps it booked', async () => {
    const o = await newOrganization(db.sql);
    const imp = await shipment(o, { direction: 'import' });
    await o.json('POST', `/api/shipments/${imp.id}/milestones`, { body: { code: 'arrived', actualAt: '2027-01-10T00:00:00Z' } });
    await o.json('POST', `/api/shipments/${imp.id}/milestones`, { body: { code: 'customs_cleared', actualAt: '2027-01-11T00:00:00Z' } });
    expect((await o.json('GET', `/api/shipments/${imp.id}`)).body.status).toBe('customs');
    await o.json('POST', `/api/shipments/${imp.id}/milestones`, { body: { code: 'delivered', actualAt: '2027-01-12T00:00:00Z' } });
    expect((await o.json('GET', `/api/shipments/${imp.id}`)).body.status).toBe('delivered');
    const exp = await shipment(o, { direction: 'export', status: 'enquiry' });
    await o.json('POST', `/api/shipments/${exp.id}/milestones`, { body: { code: 'customs_cleared', actualAt: '2027-01-01T00:00:00Z' } });
    expect((await o.json('GET', `/api/shipments/${exp.id}`)).body.status).toBe('booked');
    await o.json('POST', `/api/shipments/${exp.id}/milestones`, { body: { code: 'departed', actualAt: '2027-01-02T00:00:00Z' } });
    expect((await o.json('GET', `/api/shipments/${exp.id}`)).body.status).toBe('in_transit');
  });

  it('looks identifiers up in the acting organization only', async () => {
    const o = await newOrganization(db.sql);
    const stranger = await newOrganization(db.sql);
    const container = 'HLXU3002457';
    const s = await shipment(o, { containers: [container] });
    const t = await threadNaming(o, [container]);
    const lookups = (orgId: string) =>
      asSystem(orgId, 'test', [], async (ctx) => ({
        messages: (await ctx.sql`select id from app.messages_naming(${[container]}::text[])`).map((r) => r.id),
        shipments: (await ctx.sql`select id from app.shipment_ids_by_identifier(${[container]}::text[])`).map((r) => r.id),
        naming: (await ctx.sql`select id from app.shipments_naming(${[container]}::text[], '{}', '{}', '{}')`).map((r) => r.id),
      }));
    expect(await lookups(o.id)).toEqual({ messages: [t.messageId], shipments: [s.id], naming: [s.id] });
    expect(await lookups(stranger.id)).toEqual({ messages: [], shipments: [], naming: [] });
    expect((await stranger.json('GET', `/api/shipments?ref=${container}`)).body.data).toEqual([]);
  });
});

describe('deadlines in the list', () => {
  it('finds a shipment by any of its cut-offs, not only the earliest, and sorts by the nearest upcoming one', async () => {
    const o = await newOrganization(db.sql);
    setClock(new Date('2027-03-10T12:00:00Z'));
    try {
      // The documentation cut-off passed yesterday; the CY cut-off is tomorrow.
      const a = await shipment(o, { docCutoffAt: '2027-03-09T10:00:00Z', cyCutoffAt: '2027-03-11T10:00:00Z' });
      const b = await shipment(o, { siCutoffAt: '2027-03-10T18:00:00Z', vgmCutoffAt: '2027-03-20T18:00:00Z' });
      const c = await shipment(o, { cyCutoffAt: '2027-03-25T00:00:00Z' });
      const passed = await shipment(o, { siCutoffAt: '2027-03-01T00:00:00Z' });
      const ids = async (query: string) => {
        const res = await o.json('GET', `/api/shipments?${query}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body.data.map((s: any) => s.id);
      };
      const next48h = 'cutoffFrom=2027-03-10T12:00:00Z&cutoffTo=2027-03-12T12:00:00Z';
      expect(await ids(next48h)).toEqual([b.id, a.id]);
      expect(await ids(`${next48h}&sort=cutoff`)).toEqual([b.id, a.id]);
      expect(await ids(`${next48h}&cutoffKind=cy`)).toEqual([a.id]);
      expect(await ids(`${next48h}&cutoffKind=si,vgm&sort=cutoff`)).toEqual([b.id]);
      // From now on, each once, at its nearest upcoming cut-off; one whose cut-offs all passed is left out.
      expect(await ids('sort=cutoff')).toEqual([b.id, a.id, c.id]);
      expect(await ids('sort=cutoff&cutoffKind=vgm')).toEqual([b.id]);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await o.json('GET', `/api/shipments?sort=cutoff&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.body.data.map((s: any) => s.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual([b.id, a.id, c.id]);
      // Past ones still count in a window that covers them.
      expect(await ids('cutoffFrom=2027-02-28T00:00:00Z&cutoffTo=2027-03-02T00:00:00Z')).toEqual([passed.id]);
      // Moving a cut-off moves its deadline.
      await o.json('PATCH', `/api/shipments/${c.id}`, { body: { cyCutoffAt: '2027-03-11T00:00:00Z' } });
      expect(await ids(`${next48h}&cutoffKind=cy&sort=cutoff`)).toEqual([c.id, a.id]);
      const bad = await o.json('GET', '/api/shipments?cutoffKind=cy,eta&freeTimeKind=port');
      expect(bad.status).toBe(422);
      expect(bad.body.error.details.issues.map((i: any) => i.path).sort()).toEqual(['query.cutoffKind.1', 'query.freeTimeKind.0']);
    } finally {
      setClock(undefined);
    }
  });

  it('finds a shipment by any last free day: origin detention, destination demurrage and detention', async () => {
    const o = await newOrganization(db.sql);
    setClock(new Date('2027-04-05T06:00:00Z'));
    try {
      // Kolkata time: picked up 1 Apr, 3 free days: 1-3 Apr. Discharged 5 Apr, 5 days: 5-9 Apr. Out 6 Apr, 7 days: 6-12 Apr.
      const a = await shipment(o, {
        originFreeDays: 3,
        emptyPickupAt: '2027-04-01T04:00:00Z',
        demurrageFreeDays: 5,
        dischargedAt: '2027-04-05T04:00:00Z',
        detentionFreeDays: 7,
        gateOutAt: '2027-04-06T04:00:00Z',
      });
      expect(a).toMatchObject({ originLastFreeDay: '2027-04-03', demurrageLastFreeDay: '2027-04-09', detentionLastFreeDay: '2027-04-12' });
      const b = await shipment(o, { demurrageFreeDays: 2, dischargedAt: '2027-04-06T04:00:00Z' });
      expect(b.demurrageLastFreeDay).toBe('2027-04-07');
      const ids = async (query: string) => (await o.json('GET', `/api/shipments?${query}`)).body.data.map((s: any) => s.id);
      // "This week": the origin day has passed, but destination demurrage ends on the 9th.
      expect(await ids('freeTimeFrom=2027-04-05&freeTimeTo=2027-04-11')).toEqual([b.id, a.id]);
      expect(await ids('freeTimeFrom=2027-04-05&freeTimeTo=2027-04-11&sort=freeTime')).toEqual([b.id, a.id]);
      expect(await ids('freeTimeFrom=2027-04-10&freeTimeTo=2027-04-16&freeTimeKind=detention')).toEqual([a.id]);
      expect(await ids('freeTimeFrom=2027-04-01&freeTimeTo=2027-04-04&freeTimeKind=origin')).toEqual([a.id]);
      expect(await ids('freeTimeFrom=2027-04-01&freeTimeTo=2027-04-04&freeTimeKind=demurrage')).toEqual([]);
      // From today (5 Apr in Kolkata), nearest first.
      expect(await ids('sort=freeTime')).toEqual([b.id, a.id]);
      expect(await ids('sort=freeTime&freeTimeKind=detention')).toEqual([a.id]);
    } finally {
      setClock(undefined);
    }
  });
});

describe('identifiers and links', () => {
  it('links the threads that already name a new shipment or an added container; a rejected link stays rejected', async () => {
    const o = await newOrganization(db.sql);
    const first = await threadNaming(o, [C1]);
    const second = await threadNaming(o, [C3, 'MAEU987654321']);
    const s = await shipment(o, { containers: [C1] });
    const linked = async () => (await o.json('GET', `/api/shipments/${s.id}/threads`)).body.data.map((t: any) => [t.id, t.linkSource, t.matchedIdentifier]);
    expect(await linked()).toEqual([[first.threadId, 'automatic', C1]]);
    const [ms] = await db.sql`select link_source from app.message_shipments where message_id = ${first.messageId} and shipment_id = ${s.id}`;
    expect(ms?.linkSource).toBe('automatic');

    expect((await o.json('DELETE', `/api/shipments/${s.id}/threads?threadId=${first.threadId}`)).status).toBe(204);
    expect(await linked()).toEqual([]);
    // Adding a container links the thread naming it, and does not bring back the rejected one.
    await o.json('PATCH', `/api/shipments/${s.id}`, { body: { containers: [C1, C3] } });
    expect(await linked()).toEqual([[second.threadId, 'automatic', C3]]);
    const listed = await o.json('GET', `/api/threads?shipment=${s.id}`);
    expect(listed.body.data.map((t: any) => t.id)).toEqual([second.threadId]);

    // Linking by hand corrects the rejection.
    const relinked = await o.json('POST', `/api/shipments/${s.id}/threads`, { body: { threadId: first.threadId } });
    expect(relinked.status).toBe(200);
    expect(relinked.body).toMatchObject({ threadId: first.threadId, linkSource: 'manual' });
    expect((await linked()).map((l: any) => l[0]).sort()).toEqual([first.threadId, second.threadId].sort());
    const notOurs = await o.json('POST', `/api/shipments/${s.id}/threads`, { body: { threadId: randomUUID() } });
    expect(notOurs.status).toBe(422);
    expect(notOurs.body.error.details.issues[0].path).toBe('body.threadId');
  });

  it('backfills identifiers of messages stored before the column, batch by batch', async () => {
    const o = await newOrganization(db.sql);
    const old = await threadNaming(o, [], `Please track container ${C1.slice(0, 4)} ${C1.slice(4)} and AWB 176-12345675`);
    const other = await threadNaming(o, [], 'Nothing to see');
    await asSystem(o.id, 'test', [], async (ctx) => {
      let after: string | null = null;
      do after = (await backfillBatch(ctx, after, 1)).next;
      while (after);
    });
    const rows = await db.sql<
      { id: string; identifiers: string[] }[]
    >`select id, identifiers from app.messages where id in ${db.sql([old.messageId, other.messageId])}`;
    expect(Object.fromEntries(rows.map((r) => [r.id, r.identifiers]))).toEqual({ [old.messageId]: [AWB, C1], [other.messageId]: [] });
  });
});

describe('identifiers of every message', () => {
  it('stores the identifiers of replies and drafts as they change, and an admin can start the backfill', async () => {
    const o = await newOrganization(db.sql);
    const [t] = await db.sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, channel, counterpart) values (${o.id}, 'Rates', 'email', 'buyer@customer.example') returning id`;
    await db.sql`insert into app.channels (org_id, kind, name, address, sending_domain_status) values (${o.id}, 'email', 'Ops', ${`ops@${o.domain}`}, 'verified')`;
    const sent = await o.json('POST', `/api/threads/${t!.id}/messages`, { body: { text: `B/L No: MAEU123456789 released` } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const identifiersOf = async (id: string) => (await db.sql`select identifiers from app.messages where id = ${id}`)[0]!.identifiers;
    const draft = await o.json('POST', `/api/threads/${t!.id}/messages`, { body: { draft: true, text: `Container ${C1} gated in; AWB ${AWB} booked.` } });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    expect(await identifiersOf(sent.body.id)).toEqual(['MAEU123456789']);
    expect(await identifiersOf(draft.body.id)).toEqual([AWB, C1]);
    await o.json('PATCH', `/api/messages/${draft.body.id}`, { body: { text: `Only ${C3} now` } });
    expect(await identifiersOf(draft.body.id)).toEqual([C3]);
    await o.json('PATCH', `/api/messages/${draft.body.id}`, { body: { subject: `Re: ${C2}` } });
    expect(await identifiersOf(draft.body.id)).toEqual([C3, C2].sort());

    const started = await o.json('POST', '/api/admin/identifiers-backfill', { as: 'admin' });
    expect(started.status).toBe(202);
    expect(started.body.messages).toBe(2);
    const [job] = await db.sql`select name, payload from app.outbox where id = ${started.body.jobId}`;
    expect(job).toMatchObject({ name: 'messages.identifiers.backfill', payload: { after: null } });
    expect((await o.json('POST', '/api/admin/identifiers-backfill', { as: 'agent' })).status).toBe(403);
  });
});

describe('milestones and the timeline', () => {
  it('keeps milestones apart by mode and derives status, dates and free time from them', async () => {
    const o = await newOrganization(db.sql);
    const s = await shipment(o, { demurrageFreeDays: 4 });
    const air = await o.json('POST', `/api/shipments/${s.id}/milestones`, { body: { code: 'manifested', actualAt: '2027-01-01T00:00:00Z' } });
    expect(air.status).toBe(422);
    expect(air.body.error.details.issues[0].path).toBe('body.code');
    const noTime = await o.json('POST', `/api/shipments/${s.id}/milestones`, { body: { code: 'departed' } });
    expect(noTime.status).toBe(422);
    const tracking = await o.json('POST', `/api/shipments/${s.id}/milestones`, {
      body: { code: 'departed', actualAt: '2027-01-01T00:00:00Z', source: 'tracking' },
    });
    expect(tracking.body.error.details.issues[0].path).toBe('body.source');

    const since = await broadcastsSince(db.sql);
    const eta = await o.json('POST', `/api/shipments/${s.id}/milestones`, {
      body: { code: 'arrived', location: 'deham', plannedAt: '2027-02-10T06:00:00Z' },
    });
    expect(eta.status).toBe(201);
    expect(eta.body).toMatchObject({ code: 'arrived', location: 'DEHAM', source: 'manual' });
    await o.json('POST', `/api/shipments/${s.id}/milestones`, {
      body: { code: 'departed', location: 'INNSA', actualAt: '2027-01-02T10:00:00Z', source: 'carrier' },
    });
    let now = (await o.json('GET', `/api/shipments/${s.id}`)).body;
    expect(now).toMatchObject({ status: 'in_transit', eta: '2027-02-10T06:00:00.000Z', atd: '2027-01-02T10:00:00.000Z' });

    const moved = await o.json('PATCH', `/api/milestones/${eta.body.id}`, { body: { plannedAt: '2027-02-12T06:00:00Z' } });
    expect(moved.status).toBe(200);
    await o.json('POST', `/api/shipments/${s.id}/milestones`, { body: { code: 'discharged', actualAt: '2027-02-12T20:00:00Z' } });
    now = (await o.json('GET', `/api/shipments/${s.id}`)).body;
    // Discharged 13 Feb in Kolkata time; 4 free days: the 13th to the 16th.
    expect(now).toMatchObject({
      status: 'arrived',
      eta: '2027-02-12T06:00:00.000Z',
      dischargedAt: '2027-02-12T20:00:00.000Z',
      demurrageLastFreeDay: '2027-02-16',
    });

    const events = (await since()).filter((e) => e.topic === `org:${o.id}:shipment:${s.id}`).map((e) => e.event);
    expect(events.filter((e) => e === 'shipment.milestone')).toHaveLength(3);
    expect(events.filter((e) => e === 'shipment.eta_changed')).toHaveLength(2);

    const list = await o.json('GET', `/api/shipments/${s.id}/milestones`);
    expect(list.body.data.map((m: any) => m.code)).toEqual(['departed', 'arrived', 'discharged']);

    // The hook: each event reaches subscribers through its job.
    const received: DeliveredShipmentEvent[] = [];
    const off = onShipmentEvent('test', async (_ctx, event) => {
      if (event.shipmentId === s.id) received.push(event);
    });
    try {
      for (const job of await jobsOf(o, 'shipment.event')) await runJob(job.id);
    } finally {
      off();
    }
    expect(received.map((e) => e.event).sort()).toEqual([
      'shipment.eta_changed',
      'shipment.eta_changed',
      'shipment.milestone',
      'shipment.milestone',
      'shipment.milestone',
    ]);
    expect(received.find((e) => e.event === 'shipment.eta_changed' && e.previousEta)).toMatchObject({
      previousEta: '2027-02-10T06:00:00.000Z',
      eta: '2027-02-12T06:00:00.000Z',
    });
  });

  it('shows milestones, linked messages, notes and actions newest first, page by page', async () => {
    const o = await newOrganization(db.sql);
    const t = await threadNaming(o, [C2]);
    await db.sql`update app.messages set occurred_at = '2027-01-03T00:00:00Z' where id = ${t.messageId}`;
    const s = await shipment(o, { containers: [C2] });
    await o.json('POST', `/api/shipments/${s.id}/milestones`, { body: { code: 'gate_in', actualAt: '2027-01-01T00:00:00Z' } });
    await o.json('POST', `/api/shipments/${s.id}/milestones`, { body: { code: 'arrived', plannedAt: '2027-02-01T00:00:00Z' } });
    await db.sql`insert into app.notes (org_id, thread_id, body, created_at) values (${o.id}, ${t.threadId}, 'Draft B/L checked', '2027-01-04T00:00:00Z')`;
    await db.sql`insert into app.actions (org_id, shipment_id, title, created_at) values (${o.id}, ${s.id}, 'Chase VGM', '2027-01-02T00:00:00Z')`;
    const other = await threadNaming(o, ['OTHER123456']);
    await db.sql`insert into app.notes (org_id, thread_id, body) values (${o.id}, ${other.threadId}, 'Not this shipment')`;
    // Documents filed on the shipment or on a linked thread are in it; those of a thread whose link was rejected are not.
    await db.sql`insert into app.documents (org_id, shipment_id, title, type, created_at) values (${o.id}, ${s.id}, 'Booking confirmation', 'booking_confirmation', '2027-01-05T00:00:00Z')`;
    await db.sql`insert into app.documents (org_id, thread_id, title, type, created_at) values (${o.id}, ${t.threadId}, 'Draft B/L', 'bill_of_lading', '2027-01-02T12:00:00Z')`;
    const rejected = await threadNaming(o, ['REJECTED1']);
    await o.json('POST', `/api/shipments/${s.id}/threads`, { body: { threadId: rejected.threadId } });
    await o.json('DELETE', `/api/shipments/${s.id}/threads?threadId=${rejected.threadId}`);
    await db.sql`insert into app.notes (org_id, thread_id, body) values (${o.id}, ${rejected.threadId}, 'Rejected thread note')`;
    await db.sql`insert into app.documents (org_id, thread_id, title, created_at) values (${o.id}, ${rejected.threadId}, 'Rejected thread document', '2027-01-06T00:00:00Z')`;

    const items: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await o.json('GET', `/api/shipments/${s.id}/timeline?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      items.push(...page.body.data);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(
      items.map((i) => [
        i.kind,
        i.kind === 'milestone' ? i.data.code : i.kind === 'note' ? i.data.body : i.kind === 'action' || i.kind === 'document' ? i.data.title : i.threadId,
      ]),
    ).toEqual([
      ['milestone', 'arrived'],
      ['document', 'Booking confirmation'],
      ['note', 'Draft B/L checked'],
      ['message', t.threadId],
      ['document', 'Draft B/L'],
      ['action', 'Chase VGM'],
      ['milestone', 'gate_in'],
    ]);
    expect((await o.json('GET', `/api/shipments/${randomUUID()}/timeline`)).status).toBe(404);
  });

  it('a member of another organization sees none of it', async () => {
    const s = await shipment(org, {});
    const stranger = await newOrganization(db.sql);
    expect((await stranger.json('GET', `/api/shipments/${s.id}`)).status).toBe(404);
    expect((await stranger.json('GET', `/api/shipments/${s.id}/milestones`)).status).toBe(404);
    expect((await stranger.json('GET', '/api/shipments')).body.data).toEqual([]);
  });
});
