// Reply templates end to end: CRUD and who may share, preview on a real thread (missing values), and
// replies made from a template on email (HTML escaped, signature), SMS (DLT still decides) and WhatsApp
// (the 24-hour window still holds), with unknown variables and missing values refused at send.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_ORG_ID, SEED_USERS } from '../../lib/dev/seed.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { FAKE_EXOTEL } from '../helpers/fake-exotel.js';

let db: TestDatabase;
let smsChannel: string;
let whatsappChannel: string;

beforeAll(async () => {
  db = await testDatabase();
  const exotel = { ...FAKE_EXOTEL, subdomain: 'api.exotel.com' };
  const s = await json('POST', '/api/channels', {
    as: 'admin',
    body: {
      kind: 'sms',
      name: `SMS ${randomUUID().slice(0, 6)}`,
      address: 'TPLSMS',
      exotel,
      dltEntityId: '1101234567890123456',
      smsTemplates: [{ id: '1107160000000067890', name: 'container_update', body: 'Dear {#var#}, container {#alphanumeric#} is {#var#}. - Seahawk Logistics' }],
    },
  });
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  smsChannel = s.body.id;
  const w = await json('POST', '/api/channels', {
    as: 'admin',
    body: { kind: 'whatsapp', name: `WA ${randomUUID().slice(0, 6)}`, address: '+912233445566', exotel },
  });
  expect(w.status, JSON.stringify(w.body)).toBe(201);
  whatsappChannel = w.body.id;
});
afterAll(() => db.close());

/** A thread of its own with a contact of a customer (names with HTML in them, to see them escaped). */
async function freshThread(channel: 'email' | 'sms' | 'whatsapp', contact: { name: string; email?: string; phone?: string } = { name: 'Karthik <b>Iyer</b>' }) {
  const [customer] = await db.sql<{ id: string }[]>`
    insert into app.customers (org_id, name) values (${SEED_ORG_ID}, ${`Tata <Motors> & Co ${randomUUID().slice(0, 6)}`}) returning id`;
  const [k] = await db.sql<{ id: string }[]>`
    insert into app.contacts (org_id, customer_id, name, email, phone)
    values (${SEED_ORG_ID}, ${customer!.id}, ${contact.name}, ${contact.email ?? `k-${randomUUID().slice(0, 8)}@example.com`}, ${contact.phone ?? null}) returning id`;
  const counterpart = channel === 'email' ? (contact.email ?? `k-${randomUUID().slice(0, 8)}@example.com`) : (contact.phone ?? '+919876500100');
  const channelId = channel === 'sms' ? smsChannel : channel === 'whatsapp' ? whatsappChannel : null;
  const [t] = await db.sql<{ id: string }[]>`
    insert into app.threads (org_id, subject, channel, channel_id, customer_id, contact_id, counterpart)
    values (${SEED_ORG_ID}, 'Booking 4521', ${channel}, ${channelId}, ${customer!.id}, ${k!.id}, ${counterpart}) returning id`;
  return t!.id;
}

const template = (over: Record<string, unknown> = {}) => ({
  name: `Ack ${randomUUID().slice(0, 8)}`,
  channels: ['email'],
  body: 'Dear {{contact.firstName}}, noted for {{customer.name}}.',
  ...over,
});

describe('reply templates', () => {
  it('are personal by default; sharing needs templates.manage; others never see a personal one', async () => {
    const mine = await json('POST', '/api/templates', { as: 'agent', body: template({ folder: 'Bookings', tags: ['Rates'] }) });
    expect(mine.status, JSON.stringify(mine.body)).toBe(201);
    expect(mine.body).toMatchObject({ visibility: 'personal', ownerId: SEED_USERS.agent.id, folder: 'Bookings', tags: ['rates'], usageCount: 0 });
    const shared = await json('POST', '/api/templates', { as: 'agent', body: template({ visibility: 'organization' }) });
    expect(shared.status).toBe(403);
    const byManager = await json('POST', '/api/templates', { as: 'manager', body: template({ visibility: 'organization' }) });
    expect(byManager.status).toBe(201);
    expect((await json('GET', `/api/templates/${mine.body.id}`, { as: 'manager' })).status).toBe(404);
    expect((await json('GET', `/api/templates/${byManager.body.id}`, { as: 'viewer' })).status).toBe(200);
    expect((await json('PATCH', `/api/templates/${byManager.body.id}`, { as: 'agent', body: { name: 'x' } })).status).toBe(403);
    const listed = await json('GET', '/api/templates?folder=Bookings&limit=100', { as: 'agent' });
    expect(listed.body.data.map((t: { id: string }) => t.id)).toContain(mine.body.id);
    expect((await json('POST', '/api/templates', { as: 'viewer', body: template() })).status).toBe(403);
    expect((await json('DELETE', `/api/templates/${mine.body.id}`, { as: 'agent' })).status).toBe(204);
  });

  it('refuse unknown variables and break-out attempts when saved, naming the field', async () => {
    const typo = await json('POST', '/api/templates', { as: 'agent', body: template({ body: 'Dear {{contact.frstName}}' }) });
    expect(typo.status).toBe(422);
    expect(typo.body.error.details.issues).toEqual([{ path: 'body.body', message: '{{contact.frstName}} is not a variable this template can use' }]);
    for (const body of ['{{constructor.constructor}}', '{{> partial}}', '{{{contact.name}}}', '{{shipment.nothing}}', '{{=<% %>=}}']) {
      const res = await json('POST', '/api/templates', { as: 'agent', body: template({ body }) });
      expect(res.status, body).toBe(422);
    }
    const subject = await json('POST', '/api/templates', { as: 'agent', body: template({ subject: 'Re {{nothing}}' }) });
    expect(subject.body.error.details.issues[0].path).toBe('body.subject');
    const html = await json('POST', '/api/templates', { as: 'agent', body: template({ channels: ['sms'], format: 'html' }) });
    expect(html.body.error.details.issues[0].path).toBe('body.format');
    // Names every object has are not the template's own variables.
    for (const name of ['constructor', 'toString', 'valueOf']) {
      const proto = await json('POST', '/api/templates', { as: 'agent', body: template({ variables: [{ name }] }) });
      expect(proto.status, name).toBe(422);
      expect(proto.body.error.details.issues[0].path).toBe('body.variables.0.name');
    }
  });

  it('a section over the signature reaches no further than the template’s variables (422 for a missing one, never 500)', async () => {
    await db.sql`update app.members set signature_html = '<p>Vikram <b>Singh</b></p>' where org_id = ${SEED_ORG_ID} and user_id = ${SEED_USERS.manager.id}`;
    // Saved before names like constructor were refused (written directly): it still renders only its own values.
    const [t] = await db.sql<{ id: string }[]>`
      insert into app.reply_templates (org_id, name, channels, format, body, variables)
      values (${SEED_ORG_ID}, ${`Old ${randomUUID().slice(0, 8)}`}, '{email}', 'html',
        '<p>{{#member.signature}}{{constructor}}|{{html}}|{{text}}{{/member.signature}}</p>',
        ${db.sql.json([
          { name: 'constructor', description: null },
          { name: 'html', description: null },
          { name: 'text', description: null },
        ] as never)})
      returning id`;
    const thread = await freshThread('email');
    const refused = await json('POST', `/api/threads/${thread}/messages`, { as: 'manager', body: { templateId: t!.id, draft: true } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.details.missing.sort()).toEqual(['constructor', 'html', 'text']);
    const preview = await json('POST', `/api/templates/${t!.id}/preview`, { as: 'manager', body: { threadId: thread } });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body.html).toBe('<p>||</p>');
    const given = await json('POST', `/api/threads/${thread}/messages`, {
      as: 'manager',
      body: { templateId: t!.id, draft: true, variables: { constructor: 'C', html: '<b>H</b>', text: 'T' } },
    });
    expect(given.status, JSON.stringify(given.body)).toBe(201);
    expect(given.body.bodyHtml).toMatch(/<p>C\|&lt;b&gt;H&lt;(\/|&#47;)b&gt;\|T<\/p>/);
    expect(given.body.bodyHtml).not.toContain('Vikram');
  });

  it('list the most used first (then by name), paged, filtered by tag, channel and q', async () => {
    const label = `l${randomUUID().slice(0, 8)}`;
    const make = async (name: string, channels: string[], usage: number) => {
      const made = await json('POST', '/api/templates', {
        as: 'agent',
        body: template({ name: `${name} ${label}`, channels, tags: [label], body: 'Hello {{contact.firstName}}' }),
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      await db.sql`update app.reply_templates set usage_count = ${usage} where id = ${made.body.id}`;
      return made.body.id as string;
    };
    const rare = await make('Rare', ['email'], 1);
    const popular = await make('Popular', ['email', 'sms'], 7);
    const middle = await make('Middle', ['whatsapp'], 3);
    const tie = await make('Another', ['email'], 3);
    const ids = async (query: string) => {
      const res = await json('GET', `/api/templates?${query}`, { as: 'agent' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { ids: res.body.data.map((t: { id: string }) => t.id), next: res.body.nextCursor as string | null };
    };
    expect((await ids(`tag=${label}`)).ids).toEqual([popular, tie, middle, rare]);
    const first = await ids(`tag=${label}&limit=2`);
    expect(first.ids).toEqual([popular, tie]);
    expect((await ids(`tag=${label}&limit=2&cursor=${encodeURIComponent(first.next!)}`)).ids).toEqual([middle, rare]);
    expect((await ids(`tag=${label}&channel=email`)).ids).toEqual([popular, tie, rare]);
    expect((await ids(`tag=${label}&channel=whatsapp`)).ids).toEqual([middle]);
    expect((await ids(`q=${encodeURIComponent(`rare ${label}`)}`)).ids).toEqual([rare]);
    expect((await ids(`tag=${label}x`)).ids).toEqual([]);
  });

  it('count a use when the reply is queued, a draft only once it is sent', async () => {
    const thread = await freshThread('email');
    const t = await json('POST', '/api/templates', { as: 'agent', body: template() });
    const used = async () => (await db.sql<{ usageCount: number }[]>`select usage_count from app.reply_templates where id = ${t.body.id}`)[0]!.usageCount;
    const draft = await json('POST', `/api/threads/${thread}/messages`, { as: 'agent', body: { templateId: t.body.id, draft: true } });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    expect(await used()).toBe(0);
    const sent = await json('POST', `/api/messages/${draft.body.id}/send`, { as: 'agent' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(await used()).toBe(1);
    expect((await json('POST', `/api/threads/${thread}/messages`, { as: 'agent', body: { templateId: t.body.id } })).status).toBe(201);
    expect(await used()).toBe(2);
  });

  it('refuse at send a stored template that names an unknown variable: 422, nothing sent', async () => {
    const thread = await freshThread('email');
    // Written directly (the API refuses it when saved): a variable this template cannot use.
    const [t] = await db.sql<{ id: string }[]>`
      insert into app.reply_templates (org_id, name, channels, body) values (${SEED_ORG_ID}, ${`Broken ${randomUUID().slice(0, 8)}`}, '{email}', 'Dear {{contact.frstName}}')
      returning id`;
    const res = await json('POST', `/api/threads/${thread}/messages`, { as: 'agent', body: { templateId: t!.id } });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues).toEqual([{ path: 'body.templateId', message: '{{contact.frstName}} is not a variable this template can use' }]);
    const [counts] = await db.sql<{ messages: number }[]>`select count(*)::int as messages from app.messages where thread_id = ${thread}`;
    expect(counts!.messages).toBe(0);
  });

  it('a value given for a group the thread lacks fills that group alone: preview and text agree', async () => {
    const [t] = await db.sql<{ id: string }[]>`
      insert into app.threads (org_id, subject, channel, counterpart) values (${SEED_ORG_ID}, 'No contact', 'email', ${`n-${randomUUID().slice(0, 8)}@example.com`})
      returning id`;
    const tpl = await json('POST', '/api/templates', {
      as: 'agent',
      body: template({ body: '{{#contact}}{{firstName}} {{lastName}}{{/contact}}', variables: [{ name: 'lastName' }] }),
    });
    expect(tpl.status, JSON.stringify(tpl.body)).toBe(201);
    const preview = await json('POST', `/api/templates/${tpl.body.id}/preview`, {
      as: 'agent',
      body: { threadId: t!.id, variables: { 'contact.firstName': 'Ravi', lastName: 'Outside' } },
    });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    // Inside the section, lastName is the contact's (which has none), never the template's own.
    expect(preview.body.text).toBe('Ravi ');
    expect(preview.body.missing).toEqual(['lastName']);
  });

  it('reads the thread’s shipment: its identifiers, ports and dates', async () => {
    const thread = await freshThread('email');
    const reference = `TPL/${randomUUID().slice(0, 8)}`;
    const shipment = await json('POST', '/api/shipments', {
      as: 'agent',
      body: {
        reference,
        mode: 'sea_fcl',
        containers: ['MSKU1234565', 'CSQU3054383'],
        originPort: 'INNSA',
        destinationPort: 'DEHAM',
        eta: '2027-02-10T06:00:00Z',
      },
    });
    expect(shipment.status, JSON.stringify(shipment.body)).toBe(201);
    expect((await json('POST', `/api/shipments/${shipment.body.id}/threads`, { as: 'agent', body: { threadId: thread } })).status).toBe(200);
    const t = await json('POST', '/api/templates', {
      as: 'agent',
      body: template({ body: '{{shipment.reference}}: {{shipment.containers}} from {{shipment.originName}} ({{shipment.origin}}), ETA {{shipment.eta}}' }),
    });
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    const preview = await json('POST', `/api/templates/${t.body.id}/preview`, { as: 'agent', body: { threadId: thread } });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    // The seeded organization's time zone is Asia/Kolkata: 06:00 UTC is the same day there.
    expect(preview.body.text).toBe(`${reference}: MSKU1234565, CSQU3054383 from Nhava Sheva (Jawaharlal Nehru) (INNSA), ETA 2027-02-10`);
    expect(preview.body.missing).toEqual([]);

    // A thread without a shipment lacks them: listed, never sent as braces.
    const bare = await json('POST', `/api/templates/${t.body.id}/preview`, { as: 'agent', body: { threadId: await freshThread('email') } });
    expect(bare.body.missing).toContain('shipment.reference');
  });

  it('preview on a real thread lists the values it lacks; a reply must give them', async () => {
    const thread = await freshThread('email');
    const t = await json('POST', '/api/templates', {
      as: 'agent',
      body: template({
        subject: 'ETA for {{thread.subject}}',
        body: 'Dear {{contact.firstName}}, ETA {{eta}}. {{contact.phone}}',
        variables: [{ name: 'eta' }],
      }),
    });
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    const preview = await json('POST', `/api/templates/${t.body.id}/preview`, { as: 'agent', body: { threadId: thread } });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body).toMatchObject({ subject: 'ETA for Booking 4521', text: 'Dear Karthik, ETA . ', html: null, channel: 'email' });
    expect(preview.body.missing.sort()).toEqual(['contact.phone', 'eta']);

    const refused = await json('POST', `/api/threads/${thread}/messages`, { as: 'agent', body: { templateId: t.body.id } });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['body.variables.contact.phone', 'body.variables.eta']);
    const unknown = await json('POST', `/api/threads/${thread}/messages`, { as: 'agent', body: { templateId: t.body.id, variables: { vessel: 'x' } } });
    expect(unknown.body.error.details.issues).toEqual([{ path: 'body.variables.vessel', message: 'is not a variable of this template' }]);

    const sent = await json('POST', `/api/threads/${thread}/messages`, {
      as: 'agent',
      body: { templateId: t.body.id, variables: { eta: '12 Dec', 'contact.phone': '+91 98200 98200' } },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body).toMatchObject({ status: 'queued', subject: 'ETA for Booking 4521' });
    expect(sent.body.bodyText).toBe('Dear Karthik, ETA 12 Dec. +91 98200 98200');
    const [used] = await db.sql<{ usageCount: number }[]>`select usage_count from app.reply_templates where id = ${t.body.id}`;
    expect(used!.usageCount).toBe(1);
  });

  it('escapes values in HTML mail and inserts the member signature as HTML', async () => {
    const thread = await freshThread('email', { name: '<script>alert(1)</script> Iyer' });
    await db.sql`update app.members set signature_html = '<p>Vikram <b>Singh</b></p>' where org_id = ${SEED_ORG_ID} and user_id = ${SEED_USERS.manager.id}`;
    const t = await json('POST', '/api/templates', {
      as: 'manager',
      body: template({ format: 'html', body: '<p>Dear {{contact.firstName}} at {{customer.name}}</p>{{member.signature}}' }),
    });
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    const sent = await json('POST', `/api/threads/${thread}/messages`, { as: 'manager', body: { templateId: t.body.id, draft: true } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body.bodyHtml).toMatch(/Dear &lt;script&gt;alert\(1\)&lt;(\/|&#47;)script&gt; at Tata &lt;Motors&gt; &amp; Co/);
    expect(sent.body.bodyHtml).not.toContain('<script');
    expect(sent.body.bodyText).toContain('Dear <script>alert(1)</script> at Tata <Motors> & Co');
    expect(sent.body.bodyHtml).toContain('<p>Vikram <b>Singh</b></p>');
  });

  it('on SMS the rendered text must still match a DLT template; on WhatsApp the 24-hour window still holds', async () => {
    const smsThread = await freshThread('sms', { name: 'Karthik Iyer', phone: '+919876500111' });
    const ok = await json('POST', '/api/templates', {
      as: 'agent',
      body: template({
        channels: ['sms', 'whatsapp'],
        body: 'Dear {{contact.firstName}}, container {{container}} is {{state}}. - Seahawk Logistics',
        variables: [{ name: 'container' }, { name: 'state' }],
      }),
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const sent = await json('POST', `/api/threads/${smsThread}/messages`, {
      as: 'agent',
      body: { templateId: ok.body.id, variables: { container: 'MSKU1234565', state: 'loaded' } },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body.bodyText).toBe('Dear Karthik, container MSKU1234565 is loaded. - Seahawk Logistics');
    const free = await json('POST', '/api/templates', { as: 'agent', body: template({ channels: ['sms', 'whatsapp'], body: 'Hello {{contact.firstName}}!' }) });
    const unmatched = await json('POST', `/api/threads/${smsThread}/messages`, { as: 'agent', body: { templateId: free.body.id } });
    expect(unmatched.status).toBe(422);
    expect(unmatched.body.error.details.issues[0].path).toBe('body.text');

    const waThread = await freshThread('whatsapp', { name: 'Karthik Iyer', phone: '+919876500112' });
    const closed = await json('POST', `/api/threads/${waThread}/messages`, { as: 'agent', body: { templateId: free.body.id } });
    expect(closed.status).toBe(422);
    expect(closed.body.error.details.issues[0].path).toBe('body.template');
    await db.sql`update app.threads set last_inbound_at = now() - interval '1 hour' where id = ${waThread}`;
    const open = await json('POST', `/api/threads/${waThread}/messages`, { as: 'agent', body: { templateId: free.body.id } });
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    expect(open.body.bodyText).toBe('Hello Karthik!');
    // An email-only template is not for an SMS thread.
    const emailOnly = await json('POST', '/api/templates', { as: 'agent', body: template() });
    const wrong = await json('POST', `/api/threads/${smsThread}/messages`, { as: 'agent', body: { templateId: emailOnly.body.id } });
    expect(wrong.body.error.details.issues[0].path).toBe('body.templateId');
  });
});
