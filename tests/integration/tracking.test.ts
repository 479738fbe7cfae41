// Tracking updates from Terminal49 (issue 19): registration of a shipment's numbers against a fake
// that speaks Terminal49's tracking-request API, and signed webhook notifications mapped to
// milestones and ETA changes, each stored once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import { runJob } from '../../lib/jobs/run.js';
import { setClock } from '../../lib/time.js';
import '../../lib/jobs/all.js';
import { call } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_T49, signedDelivery, startFakeTerminal49, transportNotification } from '../helpers/fake-terminal49.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';

let db: TestDatabase;
let fake: Awaited<ReturnType<typeof startFakeTerminal49>>;
let previous: ReturnType<typeof config>;
beforeAll(async () => {
  db = await testDatabase();
  fake = await startFakeTerminal49();
  previous = config();
  setConfig(parseConfig({ ...process.env, TERMINAL49_BASE_URL: fake.url }));
});
afterAll(async () => {
  setConfig(previous);
  await fake.close();
  await db.close();
});

const CONTAINER = 'MSKU1234565';
const BL = 'MAEU123456789';

async function integrated(): Promise<{ o: TestOrg; integrationId: string }> {
  const o = await newOrganization(db.sql);
  const created = await o.json('POST', '/api/tracking-integrations', { as: 'admin', body: { provider: 'terminal49', ...FAKE_T49 } });
  expect(created.status).toBe(201);
  expect(JSON.stringify(created.body)).not.toContain(FAKE_T49.apiKey);
  expect(created.body.webhookUrl).toMatch(new RegExp(`/api/webhooks/tracking/${created.body.id}$`));
  return { o, integrationId: created.body.id };
}

async function runPending(o: TestOrg, name: string) {
  const jobs = await db.sql<{ id: string }[]>`select id from app.outbox where org_id = ${o.id} and name = ${name} and status = 'pending' order by created_at`;
  for (const j of jobs) await runJob(j.id);
  return jobs.length;
}

describe('tracking integration (Terminal49)', () => {
  it('registers a shipment’s B/L and containers when it gains them, once each', async () => {
    const { o } = await integrated();
    const again = await o.json('POST', '/api/tracking-integrations', { as: 'admin', body: { provider: 'terminal49', ...FAKE_T49 } });
    expect(again.status).toBe(409);
    expect((await o.json('POST', '/api/tracking-integrations', { as: 'agent', body: { provider: 'terminal49', ...FAKE_T49 } })).status).toBe(403);

    const s = (await o.json('POST', '/api/shipments', { body: { reference: 'T49/1', mode: 'sea_fcl', containers: [CONTAINER], mbls: [BL] } })).body;
    expect(await runPending(o, 'tracking.register')).toBe(1);
    const sent = fake.requests.filter((r) => [CONTAINER, BL].includes(r.body.data.attributes.request_number));
    expect(sent.map((r) => r.body.data.attributes).sort((a: any, b: any) => a.request_type.localeCompare(b.request_type))).toEqual([
      { request_type: 'bill_of_lading', request_number: BL, scac: 'MAEU' },
      { request_type: 'container', request_number: CONTAINER, scac: 'MAEU' },
    ]);
    expect(sent[0]!.headers.authorization).toBe(`Token ${FAKE_T49.apiKey}`);
    const rows = await db.sql`select request_type, status from app.tracking_requests where shipment_id = ${s.id} order by request_type`;
    expect(rows.map((r) => [r.requestType, r.status])).toEqual([
      ['bill_of_lading', 'created'],
      ['container', 'created'],
    ]);
    // An edit that adds nothing trackable queues nothing.
    await o.json('PATCH', `/api/shipments/${s.id}`, { body: { vessel: 'MAERSK KENSINGTON' } });
    expect(await runPending(o, 'tracking.register')).toBe(0);
  });

  it('retries after an outage on a later number without posting the registered ones again', async () => {
    const { o } = await integrated();
    const container = 'CSQU3054383';
    const bl = 'MAEU987654321';
    // The B/L goes first, then the container, which meets an outage once.
    fake.failOnce.add(container);
    const s = (await o.json('POST', '/api/shipments', { body: { reference: 'T49/R', mode: 'sea_fcl', containers: [container], mbls: [bl] } })).body;
    const [job] = await db.sql<{ id: string }[]>`select id from app.outbox where org_id = ${o.id} and name = 'tracking.register' and status = 'pending'`;
    expect(await runJob(job!.id)).toBe('retry');
    await db.sql`update app.outbox set run_at = now() where id = ${job!.id} and status = 'pending'`;
    expect(await runJob(job!.id)).toBe('done');
    const posted = fake.requests.map((r) => r.body.data.attributes.request_number).filter((n: string) => [container, bl].includes(n));
    expect(posted.sort()).toEqual([container, container, bl]);
    const rows = await db.sql`select request_number, status from app.tracking_requests where shipment_id = ${s.id} order by request_number`;
    expect(rows.map((r) => [r.requestNumber, r.status])).toEqual([
      [container, 'created'],
      [bl, 'created'],
    ]);
  });

  it('maps signed notifications to milestones and ETA changes, once per provider event', async () => {
    const { o, integrationId } = await integrated();
    const s = (await o.json('POST', '/api/shipments', { body: { reference: 'T49/2', mode: 'sea_fcl', containers: [CONTAINER], mbls: [BL] } })).body;
    const path = `/api/webhooks/tracking/${integrationId}`;

    const departed = transportNotification({
      event: 'container.transport.vessel_departed',
      container: CONTAINER,
      bl: BL,
      at: '2027-01-02T10:00:00Z',
      locode: 'INNSA',
      podEta: '2027-02-10T06:00:00Z',
    });
    const first = await call('POST', path, { token: null, ...signedDelivery(departed) });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ outcome: 'processed' });
    const repeat = await call('POST', path, { token: null, ...signedDelivery(departed) });
    expect(await repeat.json()).toEqual({ outcome: 'duplicate' });

    let shipment = (await o.json('GET', `/api/shipments/${s.id}`)).body;
    expect(shipment).toMatchObject({ status: 'in_transit', atd: '2027-01-02T10:00:00.000Z', eta: '2027-02-10T06:00:00.000Z' });
    const milestones = (await o.json('GET', `/api/shipments/${s.id}/milestones`)).body.data;
    expect(milestones.map((m: any) => [m.code, m.source, m.location])).toEqual([
      ['departed', 'tracking', 'INNSA'],
      ['arrived', 'tracking', null],
    ]);

    const later = transportNotification({
      event: 'shipment.estimated.arrival',
      container: CONTAINER,
      bl: BL,
      at: '2027-01-05T00:00:00Z',
      podEta: '2027-02-13T06:00:00Z',
    });
    later.included = later.included.filter((r) => r.type !== 'transport_event');
    const etaMoved = await call('POST', path, { token: null, ...signedDelivery(later) });
    expect(await etaMoved.json()).toEqual({ outcome: 'processed' });
    shipment = (await o.json('GET', `/api/shipments/${s.id}`)).body;
    expect(shipment.eta).toBe('2027-02-13T06:00:00.000Z');
    const events = await db.sql`select payload from app.outbox where org_id = ${o.id} and name = 'shipment.event' order by created_at`;
    expect(events.map((e) => e.payload.event)).toEqual(['shipment.milestone', 'shipment.eta_changed', 'shipment.eta_changed']);
    const stored = await db.sql`select status from app.webhook_events where provider = 'tracking' and channel_id = ${integrationId}`;
    expect(stored.map((r) => r.status).sort()).toEqual(['processed', 'processed']);
  });

  it('refuses a bad signature, an unknown integration and a body that is not a notification', async () => {
    const { integrationId } = await integrated();
    const body = transportNotification({ event: 'container.transport.vessel_arrived', container: CONTAINER, bl: BL, at: '2027-02-10T06:00:00Z' });
    const forged = await call('POST', `/api/webhooks/tracking/${integrationId}`, { token: null, ...signedDelivery(body, 'not-the-secret') });
    expect(forged.status).toBe(401);
    const unsigned = await call('POST', `/api/webhooks/tracking/${integrationId}`, {
      token: null,
      rawBody: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    expect(unsigned.status).toBe(401);
    const unknown = await call('POST', `/api/webhooks/tracking/00000000-0000-4000-8000-000000000000`, { token: null, ...signedDelivery(body) });
    expect(unknown.status).toBe(401);
    const notOne = await call('POST', `/api/webhooks/tracking/${integrationId}`, { token: null, ...signedDelivery({ hello: 'world' }) });
    expect(notOne.status).toBe(422);
    const [stored] = await db.sql`select count(*)::int as n from app.webhook_events where provider = 'tracking' and channel_id = ${integrationId}`;
    expect(stored!.n).toBe(0);
  });
  it('registers numbers skipped for lack of a SCAC once the carrier gives one', async () => {
    const { o } = await integrated();
    const container = 'TGHU8765436';
    const s = (await o.json('POST', '/api/shipments', { body: { reference: 'T49/S', mode: 'sea_fcl', containers: [container] } })).body;
    expect(await runPending(o, 'tracking.register')).toBe(1);
    const status = async () => (await db.sql`select status, scac from app.tracking_requests where shipment_id = ${s.id}`).map((r) => [r.status, r.scac]);
    expect(await status()).toEqual([['skipped', null]]);
    expect(fake.requests.some((r) => r.body.data.attributes.request_number === container)).toBe(false);
    // Another edit without a carrier changes nothing; the carrier's SCAC registers the skipped number.
    await o.json('PATCH', `/api/shipments/${s.id}`, { body: { vessel: 'CMA CGM MARCO POLO' } });
    expect(await runPending(o, 'tracking.register')).toBe(0);
    await o.json('PATCH', `/api/shipments/${s.id}`, { body: { carrier: 'cmdu' } });
    expect(await runPending(o, 'tracking.register')).toBe(1);
    expect(await status()).toEqual([['created', 'CMDU']]);
    expect(fake.requests.filter((r) => r.body.data.attributes.request_number === container).map((r) => r.body.data.attributes.scac)).toEqual(['CMDU']);
  });

  it('skips a transport event of another mode instead of failing the delivery forever', async () => {
    const { o, integrationId } = await integrated();
    const bl = 'MAEU555666777';
    const s = (await o.json('POST', '/api/shipments', { body: { reference: 'T49/L', mode: 'sea_lcl', mbls: [bl] } })).body;
    const emptyOut = transportNotification({ event: 'container.transport.empty_out', container: 'CSQU3054383', bl, at: '2027-01-01T10:00:00Z' });
    const res = await call('POST', `/api/webhooks/tracking/${integrationId}`, { token: null, ...signedDelivery(emptyOut) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ outcome: 'ignored' });
    expect((await o.json('GET', `/api/shipments/${s.id}/milestones`)).body.data).toEqual([]);
    const [stored] = await db.sql`select status from app.webhook_events where provider = 'tracking' and dedupe_key = ${`terminal49:${emptyOut.data.id}`}`;
    expect(stored?.status).toBe('ignored');
    // An event of its mode on the same shipment still applies.
    const loaded = transportNotification({ event: 'container.transport.vessel_loaded', container: 'CSQU3054383', bl, at: '2027-01-02T10:00:00Z' });
    expect(await (await call('POST', `/api/webhooks/tracking/${integrationId}`, { token: null, ...signedDelivery(loaded) })).json()).toEqual({
      outcome: 'processed',
    });
  });

  it('matches notifications by container and B/L (house B/L too), never by a PO or job reference', async () => {
    const { o, integrationId } = await integrated();
    const hbl = 'HBLX20270001';
    const byHouse = (await o.json('POST', '/api/shipments', { body: { reference: 'T49/H', mode: 'sea_lcl', hbls: [hbl] } })).body;
    // A shipment whose PO and job reference read like the notification's B/L and container.
    const decoy = (
      await o.json('POST', '/api/shipments', { body: { reference: 'MSKU7654321', mode: 'sea_fcl', poNumbers: ['HBLX20270001X', 'MAEU111222333'] } })
    ).body;
    const n = transportNotification({ event: 'container.transport.vessel_departed', container: 'MSKU7654321', bl: hbl, at: '2027-01-03T00:00:00Z' });
    expect(await (await call('POST', `/api/webhooks/tracking/${integrationId}`, { token: null, ...signedDelivery(n) })).json()).toEqual({
      outcome: 'processed',
    });
    expect((await o.json('GET', `/api/shipments/${byHouse.id}/milestones`)).body.data.map((m: any) => m.code)).toEqual(['departed']);
    expect((await o.json('GET', `/api/shipments/${decoy.id}/milestones`)).body.data).toEqual([]);
    const po = transportNotification({
      event: 'container.transport.vessel_departed',
      container: 'MSKU7654321',
      bl: 'MAEU111222333',
      at: '2027-01-03T00:00:00Z',
    });
    expect(await (await call('POST', `/api/webhooks/tracking/${integrationId}`, { token: null, ...signedDelivery(po) })).json()).toEqual({
      outcome: 'ignored',
    });
  });

  it('reprocesses a delivery whose request died after storing it, once the in-progress window passed', async () => {
    const { o, integrationId } = await integrated();
    const bl = 'MAEU444555666';
    const s = (await o.json('POST', '/api/shipments', { body: { reference: 'T49/C', mode: 'sea_fcl', mbls: [bl] } })).body;
    const n = transportNotification({ event: 'container.transport.vessel_arrived', container: 'MSKU1234565', bl, at: '2027-02-01T00:00:00Z' });
    // What a crash between storing and processing leaves: the event stored, still `received`.
    await db.sql`
      insert into app.webhook_events (org_id, provider, kind, channel_id, dedupe_key, headers, payload)
      values (${o.id}, 'tracking', 'container.transport.vessel_arrived', ${integrationId}, ${`terminal49:${n.data.id}`}, '{}'::jsonb, ${db.sql.json(n as never)})`;
    const [row] = await db.sql<{ receivedAt: Date }[]>`select received_at from app.webhook_events where dedupe_key = ${`terminal49:${n.data.id}`}`;
    const deliver = () => call('POST', `/api/webhooks/tracking/${integrationId}`, { token: null, ...signedDelivery(n) });
    try {
      setClock(new Date(row!.receivedAt.getTime() + 30_000));
      const early = await deliver();
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('30');
      setClock(new Date(row!.receivedAt.getTime() + 180_000));
      const retried = await deliver();
      expect(await retried.json()).toEqual({ outcome: 'processed' });
      expect(await (await deliver()).json()).toEqual({ outcome: 'duplicate' });
    } finally {
      setClock(undefined);
    }
    expect((await o.json('GET', `/api/shipments/${s.id}/milestones`)).body.data.map((m: any) => m.code)).toEqual(['arrived']);
  });

  it('answers a disabled integration with 410 and stores nothing', async () => {
    const { o, integrationId } = await integrated();
    await db.sql`update app.tracking_integrations set enabled = false where id = ${integrationId}`;
    await o.json('POST', '/api/shipments', { body: { reference: 'T49/D', mode: 'sea_fcl', containers: [CONTAINER] } });
    expect(await runPending(o, 'tracking.register')).toBe(0);
    const n = transportNotification({ event: 'container.transport.vessel_arrived', container: CONTAINER, bl: BL, at: '2027-02-01T00:00:00Z' });
    const res = await call('POST', `/api/webhooks/tracking/${integrationId}`, { token: null, ...signedDelivery(n) });
    expect(res.status).toBe(410);
    const [stored] = await db.sql`select count(*)::int as n from app.webhook_events where provider = 'tracking' and channel_id = ${integrationId}`;
    expect(stored!.n).toBe(0);
  });
});
