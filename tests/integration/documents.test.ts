// Documents end to end: uploaded through the signed-URL flow or filed from inbound email, read by the
// document.read job (text layer, or OCR for a scan and a photo), classified, fields asserted exactly,
// filed to the shipment naming its container or answered with a suggested shipment created in one
// request, corrected by an agent; the model's reading merged when one is configured; document jobs
// delivered to their own function.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeInboundAttachment } from '../../lib/attachments/service.js';
import { parseConfig, setConfig } from '../../lib/config.js';
import type { Ctx } from '../../lib/context.js';
import { systemClaims, withClaims } from '../../lib/db/client.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { readDocumentBytes } from '../../lib/documents/jobs.js';
import { ingestEmail } from '../../lib/email/ingest.js';
import { parseEmail } from '../../lib/email/parse.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { jobUrl } from '../../lib/jobs/publish.js';
import { resetQStashReceiver } from '../../lib/jobs/qstash-receiver.js';
import { call, json, router } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { column, containerNumber, photo, scannedCopy, textPdf, type Text } from '../helpers/documents.js';
import { fakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';
import { CURRENT_KEY, NEXT_KEY, qstashSignature } from '../helpers/qstash.js';

let db: TestDatabase;
let openai: FakeOpenAI;
beforeAll(async () => {
  db = await testDatabase();
  openai = await fakeOpenAI();
});
afterAll(async () => {
  setConfig(parseConfig(process.env));
  await openai.close();
  await db.close();
});

const T1 = '10000001-0000-4000-8000-000000000001';
const REFERENCE = new Date('2026-12-01T00:00:00Z');

/** A B/L in two columns, as carriers lay them out. */
function billOfLading(c: { container: string; bl: string; booking: string }): Text[] {
  return [
    { text: 'BILL OF LADING', x: 200, y: 50, size: 18, bold: true },
    ...column(40, 100, ['Shipper', 'Tata Textiles Ltd, Tiruppur', '', 'Consignee', 'Hamburg Home GmbH', 'Kieler Strasse 12, Hamburg']),
    ...column(330, 100, [`B/L No: ${c.bl}`, `Booking No: ${c.booking}`, 'Vessel / Voyage: MSC ANNA / 412W']),
    ...column(40, 260, [
      'Port of Loading: Nhava Sheva, India',
      'Port of Discharge: Hamburg, Germany',
      `Container No: ${c.container}   Seal No: ML123456`,
      'No. of Packages: 120 CARTONS',
      'Gross Weight: 12,345.50 KGS',
      'Terms of delivery: FOB Nhava Sheva',
      'HS Code: 6109.10',
      'ETA: 15 Jan 2027',
    ]),
  ];
}

async function upload(bytes: Buffer, filename: string, contentType = 'application/pdf') {
  const started = await json('POST', '/api/attachments/uploads', { body: { filename, contentType, sizeBytes: bytes.length } });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const u = new URL(started.body.upload.url);
  const put = await router.fetch(
    new Request(`http://localhost${u.pathname}${u.search}`, { method: 'PUT', headers: started.body.upload.headers, body: new Uint8Array(bytes) }),
  );
  expect(put.status).toBeLessThan(300);
  const confirmed = await json('POST', `/api/attachments/${started.body.attachment.id}/confirm`);
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
  return started.body.attachment.id as string;
}

async function createShipment(body: Record<string, unknown>) {
  const res = await json('POST', '/api/shipments', { body: { reference: `DOC/${randomUUID().slice(0, 8)}`, mode: 'sea_fcl', ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
}

const values = (fields: Record<string, { value: unknown }>) => Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.value]));

describe('a text PDF uploaded by a member', () => {
  it('is read, classified, its fields extracted exactly, and filed to the shipment naming its container', async () => {
    const ids = { container: containerNumber(), bl: `MAEU${Date.now() % 1e9}`.padEnd(13, '7'), booking: String(900000000 + (Date.now() % 1e8)) };
    const shipment = await createShipment({ containers: [ids.container] });
    const attachmentId = await upload(await textPdf([billOfLading(ids)]), 'BL draft.pdf');

    const created = await json('POST', '/api/documents', { body: { attachmentId, threadId: T1 } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ attachmentId, title: 'BL draft.pdf', type: 'other', status: 'received', source: 'upload', readStatus: 'pending' });
    const again = await json('POST', '/api/documents', { body: { attachmentId } });
    expect(again.status).toBe(409);
    expect(again.body.error.details.documentId).toBe(created.body.id);

    await drainJobs();
    const doc = await json('GET', `/api/documents/${created.body.id}`);
    expect(doc.status, JSON.stringify(doc.body)).toBe(200);
    expect(doc.body).toMatchObject({
      type: 'bill_of_lading',
      typeSource: 'rules',
      readStatus: 'done',
      textMethod: 'text',
      pageCount: 1,
      shipmentId: shipment.id,
      suggestedShipment: null,
      extractedBy: 'rules',
    });
    expect(doc.body.pages[0]).toMatchObject({ page: 1, method: 'text', confidence: null });
    expect(values(doc.body.fields)).toEqual({
      blNumber: ids.bl,
      bookingNumber: ids.booking,
      containerNumbers: [ids.container],
      sealNumbers: ['ML123456'],
      vessel: 'MSC ANNA',
      voyage: '412W',
      portOfLoading: 'Nhava Sheva, India',
      portOfDischarge: 'Hamburg, Germany',
      shipper: 'Tata Textiles Ltd, Tiruppur',
      consignee: 'Hamburg Home GmbH',
      packageCount: 120,
      grossWeightKg: 12345.5,
      incoterm: 'FOB',
      hsCodes: ['610910'],
      eta: '2027-01-15',
    });
    expect(doc.body.fields.portOfLoading).toMatchObject({ code: 'INNSA', page: 1, origin: 'rules' });
    expect(doc.body.fields.portOfDischarge.code).toBe('DEHAM');
    expect(doc.body.fields.containerNumbers).toMatchObject({ page: 1, confidence: 0.95, source: expect.stringContaining(ids.container) });
    expect(doc.body.identifiers).toEqual([ids.booking, ids.bl, ids.container].sort());

    // Listed by shipment and by type; downloaded through the signed URL.
    const byShipment = await json('GET', `/api/documents?shipmentId=${shipment.id}`);
    expect(byShipment.body.data.map((d: { id: string }) => d.id)).toEqual([created.body.id]);
    const byType = await json('GET', `/api/documents?type=bill_of_lading&threadId=${T1}&limit=100`);
    expect(byType.body.data.map((d: { id: string }) => d.id)).toContain(created.body.id);
    const u = new URL(doc.body.download.url);
    const file = await router.fetch(new Request(`http://localhost${u.pathname}${u.search}`));
    expect(file.status).toBe(200);
    expect(
      Buffer.from(await file.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');
  });

  it('naming a container of no shipment, answers a suggested shipment the agent creates in one request', async () => {
    const ids = {
      container: containerNumber('MSKU'),
      bl: `HLCU${randomUUID().replace(/\D/g, '').slice(0, 9)}`,
      booking: String(700000000 + (Date.now() % 1e8)),
    };
    const attachmentId = await upload(await textPdf([billOfLading(ids)]), 'bl.pdf');
    const created = await json('POST', '/api/documents', { body: { attachmentId } });
    await drainJobs();
    const doc = await json('GET', `/api/documents/${created.body.id}`);
    expect(doc.body.shipmentId).toBeNull();
    expect(doc.body.suggestedShipment).toEqual({
      reference: ids.bl,
      mode: 'sea_fcl',
      containers: [ids.container],
      mbls: [ids.bl],
      bookings: [ids.booking],
      originPort: 'INNSA',
      destinationPort: 'DEHAM',
      vessel: 'MSC ANNA',
      voyage: '412W',
      incoterm: 'FOB',
      packages: 120,
      grossWeightKg: 12345.5,
      eta: '2027-01-15T00:00:00Z',
      parties: { shipper: { name: 'Tata Textiles Ltd, Tiruppur' }, consignee: { name: 'Hamburg Home GmbH' } },
    });
    const made = await json('POST', `/api/documents/${created.body.id}/shipment`, { body: {} });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.shipment).toMatchObject({ reference: ids.bl, containers: [ids.container], originPort: 'INNSA', packages: 120 });
    expect(made.body.document).toMatchObject({ shipmentId: made.body.shipment.id, suggestedShipment: null });
    expect((await json('POST', `/api/documents/${created.body.id}/shipment`, { body: {} })).status).toBe(409);
  });

  it('takes an agent’s corrections of type and fields, keeps and marks them, and refuses a bad container number', async () => {
    const attachmentId = await upload(await textPdf([column(40, 60, ['PACKING LIST', 'Invoice No: PL-77', 'Gross Weight: 800 KGS'])]), 'pl.pdf');
    const created = await json('POST', '/api/documents', { body: { attachmentId } });
    await drainJobs();
    const bad = await json('PATCH', `/api/documents/${created.body.id}`, { body: { fields: { containerNumbers: ['MSKU1234560'] } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('body.fields.containerNumbers.0');
    const res = await json('PATCH', `/api/documents/${created.body.id}`, {
      body: { type: 'commercial_invoice', status: 'approved', fields: { grossWeightKg: 812.5, invoiceNumber: null } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ type: 'commercial_invoice', typeSource: 'agent', typeConfidence: 1, status: 'approved' });
    expect(res.body.fields.grossWeightKg).toEqual({ value: 812.5, page: null, source: null, confidence: 1, origin: 'agent', corrected: true });
    expect(res.body.fields.invoiceNumber).toBeUndefined();
    expect(res.body.corrections.map((c: any) => [c.field, c.from, c.to])).toEqual([
      ['type', 'packing_list', 'commercial_invoice'],
      ['invoiceNumber', 'PL-77', null],
      ['grossWeightKg', 800, 812.5],
    ]);
    expect(res.body.corrections[0].by).toBeTruthy();
  });
});

describe('reading by rules', () => {
  it('reads an invoice with a table: number, date, currency, total, Incoterm, HS codes', async () => {
    const row = (y: number, cells: string[]): Text[] => cells.map((text, i) => ({ text, x: [40, 250, 340, 420, 500][i]!, y, size: 10 }));
    const pdf = await textPdf([
      [
        { text: 'COMMERCIAL INVOICE', x: 200, y: 50, size: 16, bold: true },
        ...column(40, 90, ['Exporter', 'Tata Textiles Ltd, Tiruppur']),
        ...column(330, 90, ['Invoice No: INV-2026-0042', 'Invoice Date: 05.12.2026', 'Terms of Delivery: CIF Hamburg']),
        ...row(200, ['Description', 'HS Code', 'Qty', 'Unit USD', 'Amount USD']),
        ...row(220, ['Cotton T-shirts', '6109.10', '5,000', '1.85', '9,250.00']),
        ...row(240, ['Cotton trousers', '6203.42', '1,000', '3.09', '3,090.00']),
        ...row(270, ['TOTAL (USD)', '', '6,000', '', '12,340.00']),
      ],
    ]);
    const { extraction, reading } = await readDocumentBytes(pdf, 'application/pdf', REFERENCE);
    expect(extraction.method).toBe('text');
    expect(reading.type).toBe('commercial_invoice');
    expect(values(reading.fields as never)).toEqual({
      shipper: 'Tata Textiles Ltd, Tiruppur',
      invoiceNumber: 'INV-2026-0042',
      invoiceDate: '2026-12-05',
      currency: 'USD',
      totalAmount: 12340,
      incoterm: 'CIF',
      hsCodes: ['610910', '620342'],
    });
    expect(reading.fields.totalAmount).toMatchObject({ page: 1, source: expect.stringMatching(/^TOTAL \(USD\)\s+6,000\s+12,340\.00$/) });
  });

  it('reads a scanned (image-only) copy of a B/L by OCR, with the same fields', async () => {
    // Fixed text, so what OCR reads is the same every run (a random number's digits vary in how well they read).
    const ids = { container: 'TGHU7382915', bl: 'MAEU263114520', booking: '918273645' };
    const scan = await scannedCopy(await textPdf([billOfLading(ids)]), 200);
    const { extraction, reading } = await readDocumentBytes(scan, 'application/pdf', REFERENCE);
    expect(extraction.method).toBe('ocr');
    expect(extraction.pages[0]!.confidence).toBeGreaterThan(0.7);
    expect(reading.type).toBe('bill_of_lading');
    expect(values(reading.fields as never)).toMatchObject({
      blNumber: ids.bl,
      bookingNumber: ids.booking,
      containerNumbers: [ids.container],
      vessel: 'MSC ANNA',
      voyage: '412W',
      packageCount: 120,
      grossWeightKg: 12345.5,
      eta: '2027-01-15',
    });
    expect(reading.fields.portOfLoading?.code).toBe('INNSA');
  });

  it('reads a skewed, noisy photo of a delivery order by OCR', async () => {
    const container = 'MSCU5628402';
    const image = photo(['DELIVERY ORDER', `Container No: ${container}`, 'B/L No: HLCUBO1234567', 'Vessel: MAERSK ESSEN', 'ETA: 12 Feb 2027'], {
      degrees: 2.5,
    });
    const { extraction, reading } = await readDocumentBytes(image, 'image/jpeg', REFERENCE);
    expect(extraction.method).toBe('ocr');
    expect(reading.type).toBe('delivery_order');
    expect(values(reading.fields as never)).toEqual({ containerNumbers: [container], blNumber: 'HLCUBO1234567', vessel: 'MAERSK ESSEN', eta: '2027-02-12' });
  });
});

describe('the model', () => {
  it('improves the offline reading with structured output; a value the text does not bear out is dropped', async () => {
    setConfig(parseConfig({ ...process.env, OPENAI_API_KEY: 'sk-docs', OPENAI_BASE_URL: openai.baseUrl, AI_MODEL: 'doc-model', AI_TIMEOUT_MS: '5000' }));
    try {
      openai.reset();
      const nothing = { blNumber: null, bookingNumber: null, containerNumbers: [], sealNumbers: [], voyage: null, portOfLoading: null, portOfDischarge: null };
      const rest = { invoiceNumber: null, invoiceDate: null, currency: null, totalAmount: null, incoterm: null, hsCodes: [], packageCount: null, eta: null };
      openai.reply({
        json: {
          type: 'arrival_notice',
          ...nothing,
          ...rest,
          vessel: 'CMA CGM TITAN',
          shipper: 'Ghost Exports',
          consignee: 'Hamburg Home GmbH',
          grossWeightKg: 5400,
        },
      });
      const pdf = await textPdf([
        column(40, 60, ['Notice to consignee', 'Consignee: Hamburg Home GmbH', 'Your cargo on CMA CGM TITAN is due', 'Weight 5.4 MT']),
      ]);
      const { reading, typeSource, extractedBy } = await readDocumentBytes(pdf, 'application/pdf', REFERENCE);
      expect(openai.requests).toHaveLength(1);
      expect(openai.requests[0]!.body.response_format?.type).toBe('json_schema');
      expect({ type: reading.type, typeSource, extractedBy }).toEqual({ type: 'arrival_notice', typeSource: 'llm', extractedBy: 'llm:doc-model' });
      expect(reading.fields.vessel).toMatchObject({ value: 'CMA CGM TITAN', origin: 'llm', page: 1, source: 'Your cargo on CMA CGM TITAN is due' });
      expect(reading.fields.grossWeightKg).toMatchObject({ value: 5400, origin: 'llm' });
      expect(reading.fields.consignee).toMatchObject({ value: 'Hamburg Home GmbH', origin: 'rules' });
      expect(reading.fields.shipper).toBeUndefined();

      // A failing model leaves the offline reading standing.
      openai.reply({ status: 500, message: 'down' }, { status: 500, message: 'down' });
      const offline = await readDocumentBytes(pdf, 'application/pdf', REFERENCE);
      expect({ type: offline.reading.type, by: offline.extractedBy }).toEqual({ type: 'other', by: 'rules' });
    } finally {
      setConfig(parseConfig(process.env));
    }
  });
});

describe('inbound attachments', () => {
  const mailbox = { channelId: null, address: 'ops@seahawk-logistics.in' };
  const asSystem = <T>(fn: (ctx: Ctx) => Promise<T>) =>
    withClaims(systemClaims(SEED_ORG_ID), (sql) => fn({ requestId: 'test', userId: null, orgId: SEED_ORG_ID, role: 'system', sql, jobs: [] }));

  function mime(messageId: string, pdf: Buffer, logo: Buffer) {
    const b = `b-${randomUUID()}`;
    return [
      'From: Karthik <karthik@tatatextiles.example>',
      'To: ops@seahawk-logistics.in',
      `Subject: Draft BL ${messageId}`,
      `Message-ID: <${messageId}>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>Please find the draft B/L attached.</p><img src="cid:logo@x">',
      `--${b}`,
      'Content-Type: image/png; name="logo.png"',
      'Content-Disposition: inline; filename="logo.png"',
      'Content-ID: <logo@x>',
      'Content-Transfer-Encoding: base64',
      '',
      logo.toString('base64').replace(/.{76}/g, '$&\r\n'),
      `--${b}`,
      'Content-Type: application/pdf; name="draft-bl.pdf"',
      'Content-Disposition: attachment; filename="draft-bl.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      pdf.toString('base64').replace(/.{76}/g, '$&\r\n'),
      `--${b}--`,
      '',
    ].join('\r\n');
  }

  it('files the PDF of an inbound email as one document (not the inline logo), once however often ingest runs', async () => {
    const pdf = await textPdf([column(40, 60, ['ARRIVAL NOTICE', `Container No: ${containerNumber()}`])]);
    const logo = Buffer.alloc(2000, 1);
    const messageId = `${randomUUID()}@tatatextiles.example`;
    const raw = Buffer.from(mime(messageId, pdf, logo));
    const first = await asSystem(async (ctx) => ingestEmail(ctx, await parseEmail(raw), mailbox));
    expect(first.outcome).toBe('stored');
    // The same mail again (a poll retried after a crash), and the attachment stored again directly.
    const second = await asSystem(async (ctx) => ingestEmail(ctx, await parseEmail(raw), mailbox));
    expect(second.outcome).toBe('duplicate');
    await asSystem((ctx) =>
      storeInboundAttachment(ctx, {
        messageId: first.messageId!,
        threadId: first.threadId!,
        filename: 'draft-bl.pdf',
        contentType: 'application/pdf',
        content: pdf,
        document: 'email',
      }),
    );
    const docs = await db.sql<{ id: string; source: string; title: string; threadId: string }[]>`
      select id, source, title, thread_id from app.documents where message_id = ${first.messageId!}`;
    expect(docs).toEqual([{ id: expect.any(String), source: 'email', title: 'draft-bl.pdf', threadId: first.threadId }]);
    const jobs = await db.sql`select id from app.outbox where name = 'document.read' and payload->>'documentId' = ${docs[0]!.id}`;
    expect(jobs).toHaveLength(1);
    await drainJobs();
    const doc = await json('GET', `/api/documents/${docs[0]!.id}`);
    expect(doc.body).toMatchObject({ type: 'arrival_notice', readStatus: 'done', messageId: first.messageId });
    const byThread = await json('GET', `/api/documents?threadId=${first.threadId}`);
    expect(byThread.body.data.map((d: { id: string }) => d.id)).toEqual([docs[0]!.id]);
  });
});

describe('document jobs', () => {
  it('go to their own function, which runs them on a valid QStash signature', async () => {
    expect(jobUrl('document.read')).toBe('https://banxway.test/api/jobs/documents/document.read');
    expect(jobUrl('thread.unsnooze')).toBe('https://banxway.test/api/jobs/thread.unsnooze');
    setConfig(parseConfig({ ...process.env, QSTASH_CURRENT_SIGNING_KEY: CURRENT_KEY, QSTASH_NEXT_SIGNING_KEY: NEXT_KEY }));
    resetQStashReceiver();
    try {
      const attachmentId = await upload(await textPdf([column(40, 60, ['CERTIFICATE OF ORIGIN', 'Exporter: Tata Textiles Ltd'])]), 'coo.pdf');
      const created = await json('POST', '/api/documents', { body: { attachmentId } });
      const [job] = await db.sql<{ id: string }[]>`select id from app.outbox where name = 'document.read' and payload->>'documentId' = ${created.body.id}`;
      const body = JSON.stringify({ outboxId: job!.id });
      const deliver = async (path: string, url: string) =>
        call('POST', path, {
          token: null,
          rawBody: body,
          headers: { 'content-type': 'application/json', 'upstash-signature': await qstashSignature(url, body) },
        });
      // Signed for the general job function: refused by the documents function.
      expect((await deliver('/api/jobs/documents/document.read', 'https://banxway.test/api/jobs/document.read')).status).toBe(401);
      const res = await deliver('/api/jobs/documents/document.read', jobUrl('document.read'));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ outcome: 'done' });
      const doc = await json('GET', `/api/documents/${created.body.id}`);
      expect(doc.body).toMatchObject({ type: 'certificate_of_origin', readStatus: 'done' });
    } finally {
      setConfig(parseConfig(process.env));
      resetQStashReceiver();
    }
  });
});
