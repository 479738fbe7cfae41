// Keeping the inbox clean: the sender rules' API (validation, duplicates, filters, pages, roles),
// marking a thread spam or not spam, the thread lists and sidebar counts that leave spam and bulk
// out, and mail through a real IMAP server (Dovecot) with the headers real senders write: a
// Mailchimp newsletter and a list are bulk, a Gmail message, a Google Group of our own and an
// out-of-office are not, a blocked sender's mail is stored as spam and reopens nothing, an allowed
// one stays in the inbox. A blocked number's SMS through the Exotel webhook is kept as spam too.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig, type Config } from '../../lib/config.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { pollFolder } from '../../lib/email/poll.js';
import { LocalStorage, useStorage } from '../../lib/storage/index.js';
import { call, json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { hasDovecot, startDovecot, USERS, type Dovecot } from '../helpers/dovecot.js';
import { FAKE_EXOTEL } from '../helpers/fake-exotel.js';
import { folded, mail } from '../helpers/mail.js';
import { newOrganization, type TestOrg } from '../helpers/org.js';
import { broadcastsSince } from '../helpers/realtime.js';

let db: TestDatabase;
let saved: Config;
let storageDir: string;
beforeAll(async () => {
  db = await testDatabase();
  saved = config();
  storageDir = await mkdtemp(join(tmpdir(), 'banxway-sender-rules-'));
  setConfig(parseConfig({ ...process.env, ALLOW_PRIVATE_NETWORK_HOSTS: 'true', PUBLIC_BASE_URL: 'https://banxway.example', STORAGE_DIR: storageDir }));
  useStorage(new LocalStorage({ dir: storageDir, secret: config().storageSigningSecret, baseUrl: config().publicBaseUrl }));
});
afterAll(async () => {
  setConfig(saved);
  useStorage(undefined);
  await db?.close();
  await rm(storageDir, { recursive: true, force: true });
});

const paths = (body: any) => (body.error.details?.issues ?? []).map((i: { path: string }) => i.path);

describe('sender rules API', () => {
  let org: TestOrg;
  beforeAll(async () => {
    org = await newOrganization(db.sql);
  });

  it('lets managers add rules, normalising each value by its match; agents read, and may not write', async () => {
    const address = await org.json('POST', '/api/sender-rules', {
      as: 'manager',
      body: { kind: 'block', match: 'address', value: ' Offers@Cheap-Freight.example ' },
    });
    expect(address.status, JSON.stringify(address.body)).toBe(201);
    expect(address.body).toMatchObject({ kind: 'block', match: 'address', value: 'offers@cheap-freight.example', note: null, source: 'manual' });
    const domain = await org.json('POST', '/api/sender-rules', {
      as: 'admin',
      body: { kind: 'bulk', match: 'domain', value: '@News.Portnet.example', note: 'Port circulars' },
    });
    expect(domain.body).toMatchObject({ kind: 'bulk', match: 'domain', value: 'news.portnet.example', note: 'Port circulars' });
    const phone = await org.json('POST', '/api/sender-rules', { as: 'owner', body: { kind: 'block', match: 'phone', value: '+91 98200 98200' } });
    expect(phone.body).toMatchObject({ match: 'phone', value: '+919820098200' });

    expect((await org.json('POST', '/api/sender-rules', { as: 'agent', body: { kind: 'allow', match: 'domain', value: 'maersk.com' } })).status).toBe(403);
    const read = await org.json('GET', `/api/sender-rules/${address.body.id}`, { as: 'agent' });
    expect(read).toMatchObject({ status: 200, body: { id: address.body.id, createdBy: org.users.manager.id } });
    expect((await org.json('GET', '/api/sender-rules', { as: 'viewer' })).status).toBe(200);
  });

  it('refuses bad values with 422 naming the field, and a second rule for one sender with 409', async () => {
    const post = (body: unknown) => org.json('POST', '/api/sender-rules', { as: 'manager', body });
    const cases: [unknown, string, RegExp][] = [
      [{ kind: 'block', match: 'address', value: 'not-an-address' }, 'body.value', /email address/],
      [{ kind: 'block', match: 'domain', value: 'cheap freight.example' }, 'body.value', /domain/],
      [{ kind: 'block', match: 'domain', value: 'someone@cheap-freight.example' }, 'body.value', /domain/],
      [{ kind: 'block', match: 'phone', value: 'call me' }, 'body.value', /phone number/],
      [{ kind: 'maybe', match: 'domain', value: 'x.example' }, 'body.kind', /.+/],
      [{ kind: 'block', value: 'x.example' }, 'body.match', /body\.match/],
      [{ kind: 'block', match: 'domain', value: 'x.example', colour: 'red' }, 'body', /colour/],
    ];
    for (const [body, path, message] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(paths(res.body), JSON.stringify(res.body)).toContain(path);
      expect(res.body.error.message).toMatch(message);
    }
    const first = await post({ kind: 'block', match: 'domain', value: 'spam-carrier.example' });
    expect(first.status).toBe(201);
    const again = await post({ kind: 'allow', match: 'domain', value: 'SPAM-carrier.example' });
    expect(again.status).toBe(409);
    expect(paths(again.body)).toEqual(['body.value']);
    expect(again.body.error.details.ruleId).toBe(first.body.id);
  });

  it('lists newest first in pages, filtered by kind, match and part of the value', async () => {
    const made: string[] = [];
    for (const value of ['a.pages.example', 'b.pages.example', 'c.pages.example']) {
      made.push((await org.json('POST', '/api/sender-rules', { as: 'manager', body: { kind: 'allow', match: 'domain', value } })).body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await org.json('GET', `/api/sender-rules?q=pages.example&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((r: { id: string }) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());

    // A block rule of this test's own: the others of the organization may not have run yet.
    expect(
      (await org.json('POST', '/api/sender-rules', { as: 'manager', body: { kind: 'block', match: 'domain', value: `blocked-${Date.now()}.example` } })).status,
    ).toBe(201);
    const blocks = await org.json('GET', '/api/sender-rules?kind=block&match=domain,address');
    expect(blocks.body.data.length).toBeGreaterThan(0);
    expect(blocks.body.data.every((r: any) => r.kind === 'block' && r.match !== 'phone')).toBe(true);
    const bad = await org.json('GET', '/api/sender-rules?kind=block,sometimes&match=ip');
    expect(bad.status).toBe(422);
    expect(paths(bad.body)).toEqual(expect.arrayContaining(['query.kind.1', 'query.match.0']));
  });

  it('changes a rule’s kind, value and note, refuses a taken value, deletes it, with events and audit rows', async () => {
    const since = await broadcastsSince(db.sql);
    const created = await org.json('POST', '/api/sender-rules', { as: 'manager', body: { kind: 'block', match: 'address', value: 'edit@rules.example' } });
    await org.json('POST', '/api/sender-rules', { as: 'manager', body: { kind: 'block', match: 'address', value: 'taken@rules.example' } });
    const id = created.body.id;
    const changed = await org.json('PATCH', `/api/sender-rules/${id}`, {
      as: 'manager',
      body: { kind: 'allow', note: 'Our CHA', value: 'Edited@Rules.example' },
    });
    expect(changed).toMatchObject({ status: 200, body: { kind: 'allow', note: 'Our CHA', value: 'edited@rules.example', match: 'address' } });
    const taken = await org.json('PATCH', `/api/sender-rules/${id}`, { as: 'manager', body: { value: 'taken@rules.example' } });
    expect(taken.status).toBe(409);
    expect(paths(taken.body)).toEqual(['body.value']);
    const wrong = await org.json('PATCH', `/api/sender-rules/${id}`, { as: 'manager', body: { value: 'rules.example' } });
    expect(wrong.status).toBe(422);
    expect(paths(wrong.body)).toEqual(['body.value']);
    expect((await org.json('PATCH', `/api/sender-rules/${id}`, { as: 'manager', body: {} })).status).toBe(422);
    const rematch = await org.json('PATCH', `/api/sender-rules/${id}`, { as: 'manager', body: { match: 'domain' } });
    expect(rematch.status).toBe(422);
    expect(rematch.body.error.message).toMatch(/match/);
    expect((await org.json('PATCH', `/api/sender-rules/${id}`, { as: 'agent', body: { note: 'x' } })).status).toBe(403);

    expect((await org.call('DELETE', `/api/sender-rules/${id}`, { as: 'manager' })).status).toBe(204);
    expect((await org.json('GET', `/api/sender-rules/${id}`)).status).toBe(404);
    expect((await org.call('DELETE', `/api/sender-rules/${id}`, { as: 'manager' })).status).toBe(404);

    const events = (await since()).filter((b) => b.payload.data?.id === id).map((b) => [b.topic, b.event]);
    expect(events).toEqual([
      [`org:${org.id}`, 'sender_rule.created'],
      [`org:${org.id}`, 'sender_rule.updated'],
      [`org:${org.id}`, 'sender_rule.deleted'],
    ]);
    const audit = await db.sql<{ action: string }[]>`select action from app.audit_log where entity_id = ${id} order by created_at`;
    expect(audit.map((a) => a.action)).toEqual(['sender_rule.created', 'sender_rule.updated', 'sender_rule.deleted']);
  });

  it('keeps organizations apart', async () => {
    const other = await newOrganization(db.sql);
    const mine = await org.json('POST', '/api/sender-rules', { as: 'manager', body: { kind: 'block', match: 'domain', value: 'apart.example' } });
    expect((await other.json('GET', `/api/sender-rules/${mine.body.id}`, { as: 'owner' })).status).toBe(404);
    expect((await other.json('PATCH', `/api/sender-rules/${mine.body.id}`, { as: 'owner', body: { kind: 'allow' } })).status).toBe(404);
    expect((await other.json('GET', '/api/sender-rules?q=apart.example', { as: 'owner' })).body.data).toEqual([]);
    // The same sender may have a rule in each organization.
    expect((await other.json('POST', '/api/sender-rules', { as: 'owner', body: { kind: 'allow', match: 'domain', value: 'apart.example' } })).status).toBe(201);
  });
});

describe('marking a thread spam or not spam', () => {
  let org: TestOrg;
  beforeAll(async () => {
    org = await newOrganization(db.sql);
  });

  const newThread = async (counterpart: string, channel = 'email') => {
    const res = await org.json('POST', '/api/threads', { body: { subject: `Quote ${randomUUID()}`, channel, counterpart } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const listed = async (query: string) => (await org.json('GET', `/api/threads?limit=100${query}`)).body.data.map((t: { id: string }) => t.id);
  const counts = async () => (await org.json('GET', '/api/threads/counts')).body;

  it('moves the thread to spam and blocks its sender; not spam brings it back open and allows the sender', async () => {
    const id = await newThread('Promo@Spammy-Rates.example');
    const before = await counts();
    const since = await broadcastsSince(db.sql);

    const spam = await org.json('POST', `/api/threads/${id}/spam`);
    expect(spam.status, JSON.stringify(spam.body)).toBe(200);
    expect(spam.body.thread).toMatchObject({ id, status: 'spam' });
    expect(spam.body.rule).toMatchObject({ kind: 'block', match: 'address', value: 'promo@spammy-rates.example', source: 'thread', threadId: id });
    expect(await listed('')).not.toContain(id);
    // Other tests of this organization leave spam threads too: this one is among them.
    expect(await listed('&status=spam')).toContain(id);
    expect(await listed('&status=open,spam')).toContain(id);
    const during = await counts();
    expect(during.open).toBe(before.open - 1);
    expect(during.statuses).toMatchObject({ spam: before.statuses.spam + 1, bulk: before.statuses.bulk });
    expect((await org.json('POST', `/api/threads/${id}/spam`)).status).toBe(409);

    // Only not-spam takes a thread out of spam: PATCH refuses to, naming the field.
    const patched = await org.json('PATCH', `/api/threads/${id}`, { body: { status: 'open' } });
    expect(patched.status).toBe(409);
    expect(paths(patched.body)).toEqual(['body.status']);
    expect((await org.json('PATCH', `/api/threads/${id}`, { body: { status: 'spam' } })).status).toBe(422);
    expect((await org.json('PATCH', `/api/threads/${id}`, { body: { tags: ['junk'] } })).status).toBe(200);

    const back = await org.json('POST', `/api/threads/${id}/not-spam`);
    expect(back.status).toBe(200);
    expect(back.body.thread).toMatchObject({ id, status: 'open', resolvedAt: null });
    // The sender's one rule now allows them.
    expect(back.body.rule).toMatchObject({ id: spam.body.rule.id, kind: 'allow', value: 'promo@spammy-rates.example' });
    expect(await listed('')).toContain(id);
    expect(await counts()).toMatchObject({ open: before.open, statuses: { spam: before.statuses.spam } });
    expect((await org.json('POST', `/api/threads/${id}/not-spam`)).status).toBe(409);

    const events = (await since()).filter((b) => b.event.startsWith('thread.') && b.payload.data.id === id);
    expect(events.map((b) => [b.topic, b.payload.data.status])).toEqual([
      [`org:${org.id}`, 'spam'],
      [`org:${org.id}:thread:${id}`, 'spam'],
      [`org:${org.id}`, 'spam'],
      [`org:${org.id}:thread:${id}`, 'spam'],
      [`org:${org.id}`, 'open'],
      [`org:${org.id}:thread:${id}`, 'open'],
    ]);
    const audit = await db.sql<{ action: string; data: any }[]>`
      select action, data from app.audit_log where entity_type = 'thread' and entity_id = ${id} and action like 'thread.marked%' order by created_at`;
    expect(audit).toEqual([
      { action: 'thread.marked_spam', data: { from: 'open', senderRuleId: spam.body.rule.id } },
      { action: 'thread.marked_not_spam', data: { from: 'spam', senderRuleId: spam.body.rule.id } },
    ]);
  });

  it('blocks a WhatsApp or SMS thread’s number, and marks a thread without a sender without any rule', async () => {
    const phone = await newThread('+919811122233', 'whatsapp');
    const marked = await org.json('POST', `/api/threads/${phone}/spam`);
    expect(marked.body.rule).toMatchObject({ kind: 'block', match: 'phone', value: '+919811122233' });
    const internal = await org.json('POST', '/api/threads', { body: { subject: 'Internal: vessel schedule' } });
    const none = await org.json('POST', `/api/threads/${internal.body.id}/spam`);
    expect(none.body).toMatchObject({ thread: { status: 'spam' }, rule: null });
  });

  it('answers 404 for a thread of another organization', async () => {
    const other = await newOrganization(db.sql);
    const id = await newThread('someone@apart.example');
    expect((await other.json('POST', `/api/threads/${id}/spam`, { as: 'owner' })).status).toBe(404);
    expect((await other.json('POST', `/api/threads/${id}/not-spam`, { as: 'owner' })).status).toBe(404);
  });
});

describe('a blocked number on SMS', () => {
  it('stores the SMS on a spam thread: no analysis, no open thread', async () => {
    const channel = await json('POST', '/api/channels', {
      as: 'admin',
      body: {
        kind: 'sms',
        name: 'Rules SMS',
        address: 'SHWKRL',
        exotel: { ...FAKE_EXOTEL, subdomain: 'api.exotel.com' },
        dltEntityId: '1101234567890123456',
        smsTemplates: [{ id: '1107160000000012345', name: 'general_reply', body: 'Dear customer, {#var#} Team Seahawk' }],
      },
    });
    expect(channel.status, JSON.stringify(channel.body)).toBe(201);
    const rule = await json('POST', '/api/sender-rules', { as: 'manager', body: { kind: 'block', match: 'phone', value: '09876511122' } });
    expect(rule.body.value).toBe('+919876511122');
    const sms = (sid: string, from: string) =>
      call(
        'GET',
        `/api/webhooks/exotel/${channel.body.id}?${new URLSearchParams({ SmsSid: sid, From: from, To: 'SHWKRL', Body: 'WIN A PRIZE: container 40HC free MSKU1234565', token: channel.body.webhook.secret })}`,
        {
          token: null,
        },
      );
    expect((await sms('rules-sms-1', '09876511122')).status).toBe(200);
    expect((await sms('rules-sms-2', '09876511199')).status).toBe(200);
    const rows = await db.sql<{ from: string; status: string; analysis: number; links: number }[]>`
      select m.from_address as from, t.status,
        (select count(*)::int from app.outbox o where o.name = 'message.analyze' and o.payload->>'messageId' = m.id::text) as analysis,
        (select count(*)::int from app.message_shipments s where s.message_id = m.id) as links
      from app.messages m join app.threads t on t.id = m.thread_id
      where m.channel_id = ${channel.body.id} order by m.from_address`;
    expect(rows).toEqual([
      { from: '+919876511122', status: 'spam', analysis: 0, links: 0 },
      { from: '+919876511199', status: 'open', analysis: 1, links: expect.any(Number) },
    ]);
  });
});

const d = describe.skipIf(!hasDovecot);

d('mail through IMAP', () => {
  let dovecot: Dovecot;
  let channelId: string;
  const folder = 'Rules';
  beforeAll(async () => {
    dovecot = await startDovecot();
    await dovecot.createFolder(folder);
    const res = await json('POST', '/api/channels', {
      as: 'admin',
      body: {
        kind: 'email',
        name: 'Rules mailbox',
        address: 'ops+rules@seahawk-logistics.in',
        imap: { host: '127.0.0.1', port: dovecot.port, tls: false, username: USERS.ops.user, auth: { method: 'password', password: USERS.ops.pass } },
        folders: [folder],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    channelId = res.body.id;
  });
  afterAll(async () => {
    await dovecot?.stop();
  });

  /** Appends the messages, polls once, and answers each message's thread as stored, in order. */
  async function deliver(...raws: string[]) {
    for (const raw of raws) await dovecot.append(raw, { folder });
    const result = await pollFolder(SEED_ORG_ID, channelId, folder);
    expect(result).toMatchObject({ status: 'done', stored: raws.length, quarantined: 0 });
    const ids = raws.map((r) => /^Message-ID: <([^>]+)>/m.exec(r)![1]!);
    const rows = await db.sql<
      { rfc: string; messageId: string; threadId: string; status: string; firstInboundAt: Date | null; filterReason: string | null; analysis: number }[]
    >`
      select m.rfc_message_id as rfc, m.id as message_id, t.id as thread_id, t.status, t.first_inbound_at, m.metadata->>'filterReason' as filter_reason,
        (select count(*)::int from app.outbox o where o.name = 'message.analyze' and o.payload->>'messageId' = m.id::text) as analysis
      from app.messages m join app.threads t on t.id = m.thread_id where m.rfc_message_id = any(${ids}::text[])`;
    return ids.map((id) => rows.find((r) => r.rfc === id)!);
  }
  const tag = () => randomUUID().slice(0, 8);
  const inboxIds = async () => (await json('GET', '/api/threads?limit=100')).body.data.map((t: { id: string }) => t.id);

  /** A Mailchimp campaign as it arrives: RFC 2369 and 8058 list headers, its List-ID, Precedence: bulk. */
  const mailchimp = (t: string) =>
    mail({
      from: `Freightos Weekly <newsletter-${t}@freightos-news.example>`,
      subject: `Freight rates this week: FBX index ${t}`,
      messageId: `${t}.mailchimp@mail123.suw13.mcdlv.net`,
      html: '<p>Container rates fell 4% on Asia–North Europe.</p><p><a href="https://example.us1.list-manage.com/unsubscribe">Unsubscribe</a></p>',
      headers: {
        'Reply-To': `Freightos Weekly <newsletter-${t}@freightos-news.example>`,
        'List-Unsubscribe': `<https://freightos-news.us1.list-manage.com/unsubscribe?u=5f1e&id=9a2b&e=${t}>, <mailto:unsubscribe-mc.us1_5f1e.9a2b@unsubscribe.mailchimpapp.net?subject=unsubscribe>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'List-ID': '5f1e0a8f7b8c64e1b2f3c4d5emc list <5f1e0a8f7b8c64e1b2f3c4d5e.1234567.list-id.mcsv.net>',
        'X-Mailer': 'Mailchimp Mailer - **CID9a2b3c4d5e**',
        'X-Campaign': 'mailchimp5f1e0a8f7b8c64e1b2f3c4d5e.9a2b3c4d5e',
        'X-MC-User': '5f1e0a8f7b8c64e1b2f3c4d5e',
        'Feedback-ID': '1234567:1234567.987654:us1:mc',
        Precedence: 'bulk',
      },
    });
  /** A person writing from Gmail: Google's own headers, none of a list's. */
  const gmail = (t: string, from = 'Ravi Exports <ravi.exports@gmail.com>', extra: Record<string, string> = {}) =>
    mail({
      from,
      subject: `Need rates for 1x20GP Mundra to Jebel Ali ${t}`,
      messageId: `CAJx${t}+mJq=Ym5b@mail.gmail.com`,
      body: 'Hi, please share your best rate for 1x20GP Mundra to Jebel Ali, cargo ready next week.\n\nRegards,\nRavi',
      headers: {
        'X-Gm-Message-State': 'AOJu0YwK3bJ8r9v7Q2hX',
        'X-Google-Smtp-Source': 'AGHT+IGz8Yk1',
        'DKIM-Signature':
          'v=1; a=rsa-sha256; c=relaxed/relaxed; d=gmail.com; s=20230601; h=to:subject:message-id:date:from:mime-version; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=abc',
        ...extra,
      },
    });

  it('files a Mailchimp newsletter as bulk: out of the inbox and the counts, not analysed; a Gmail message stays in', async () => {
    const t = tag();
    const before = (await json('GET', '/api/threads/counts')).body;
    const [news, person] = await deliver(mailchimp(t), gmail(t));
    expect(news).toMatchObject({ status: 'bulk', filterReason: 'header: list-unsubscribe', analysis: 0, firstInboundAt: null });
    expect(person).toMatchObject({ status: 'open', filterReason: null, analysis: 1 });
    const inbox = await inboxIds();
    expect(inbox).toContain(person!.threadId);
    expect(inbox).not.toContain(news!.threadId);
    expect((await json('GET', '/api/threads?status=bulk&limit=100')).body.data.map((x: any) => x.id)).toContain(news!.threadId);
    const after = (await json('GET', '/api/threads/counts')).body;
    expect(after.open).toBe(before.open + 1);
    expect(after.statuses.bulk).toBe(before.statuses.bulk + 1);
    // The next campaign joins the same bulk thread (it moves up the bulk list, reopens nothing).
    const [next] = await deliver(mailchimp(t).replace(`Message-ID: <${t}.mailchimp`, `Message-ID: <${t}-2.mailchimp`));
    expect(next).toMatchObject({ threadId: news!.threadId, status: 'bulk' });
  });

  it('treats List-Id or Precedence: list from another list as bulk, but not our own Google Group nor an out-of-office', async () => {
    const t = tag();
    const [list, ownGroup, ooo] = await deliver(
      mail({
        from: 'FIATA Circulars <circulars@fiata-lists.example>',
        subject: `Circular ${t}: new FBL terms`,
        messageId: `${t}.list@fiata-lists.example`,
        headers: { 'List-Id': 'FIATA members <members.fiata-lists.example>', Precedence: 'list' },
      }),
      // A customer writing to ops@, a Google Workspace group of ours that relays to the mailbox.
      mail({
        from: 'Kavita Shah <kavita.shah@sunrisepharma.example>',
        to: 'ops@seahawk-logistics.in',
        subject: `Pickup tomorrow ${t}`,
        messageId: `${t}.group@sunrisepharma.example`,
        headers: {
          Precedence: 'list',
          'Mailing-list': 'list ops@seahawk-logistics.in; contact ops+owners@seahawk-logistics.in',
          'List-ID': '<ops.seahawk-logistics.in>',
          'X-Google-Group-Id': '358814495539',
          'List-Post': '<https://groups.google.com/a/seahawk-logistics.in/group/ops/post>, <mailto:ops@seahawk-logistics.in>',
          'List-Unsubscribe':
            '<mailto:googlegroups-manage+358814495539+unsubscribe@googlegroups.com>, <https://groups.google.com/a/seahawk-logistics.in/group/ops/subscribe>',
        },
      }),
      // A vacation responder's answer: Auto-Submitted and Precedence: bulk.
      mail({
        from: `Meena <meena-${t}@tatatextiles.example>`,
        subject: `Out of Office: Rates ${t}`,
        messageId: `${t}.ooo@tatatextiles.example`,
        headers: { 'Auto-Submitted': 'auto-replied', Precedence: 'bulk', 'X-Auto-Response-Suppress': 'All' },
      }),
    );
    expect(list).toMatchObject({ status: 'bulk', filterReason: 'header: list-id' });
    expect(ownGroup).toMatchObject({ status: 'open', filterReason: null, analysis: 1 });
    // Machine-made, so not work either, but an answer to us: resolved, as auto-replies are.
    expect(ooo).toMatchObject({ status: 'resolved', filterReason: null });
  });

  it('applies the rules: a blocked domain is spam, an allowed address overrides it and the headers, a bulk rule files a sender as bulk', async () => {
    const t = tag();
    const rule = (kind: string, match: string, value: string) => json('POST', '/api/sender-rules', { as: 'manager', body: { kind, match, value } });
    expect((await rule('block', 'domain', `cheap-${t}.example`)).status).toBe(201);
    expect((await rule('allow', 'address', `agent@cheap-${t}.example`)).status).toBe(201);
    expect((await rule('allow', 'address', `newsletter-${t}@freightos-news.example`)).status).toBe(201);
    expect((await rule('bulk', 'domain', `circulars-${t}.example`)).status).toBe(201);
    const [blocked, allowed, news, circular] = await deliver(
      gmail(`${t}a`, `Deals <deals@mail.cheap-${t}.example>`),
      gmail(`${t}b`, `Our agent <agent@cheap-${t}.example>`),
      mailchimp(t),
      gmail(`${t}c`, `Port <notice@circulars-${t}.example>`),
    );
    expect(blocked).toMatchObject({ status: 'spam', filterReason: `rule: block domain cheap-${t}.example`, analysis: 0 });
    expect(allowed).toMatchObject({ status: 'open', filterReason: null, analysis: 1 });
    expect(news).toMatchObject({ status: 'open', filterReason: null, analysis: 1 });
    expect(circular).toMatchObject({ status: 'bulk', filterReason: `rule: bulk domain circulars-${t}.example` });
    expect(await inboxIds()).not.toContain(blocked!.threadId);
    // An upstream filter's verdict (SpamAssassin) is spam, unless the sender is allowed.
    const [flagged, flaggedAllowed] = await deliver(
      gmail(`${t}d`, `Unknown <unknown-${t}@gmail.com>`, { 'X-Spam-Flag': 'YES', 'X-Spam-Status': 'Yes, score=7.1 required=5.0' }),
      gmail(`${t}e`, `Our agent <agent@cheap-${t}.example>`, { 'X-Spam-Flag': 'YES' }),
    );
    expect(flagged).toMatchObject({ status: 'spam', filterReason: 'header: x-spam-flag' });
    expect(flaggedAllowed).toMatchObject({ status: 'open' });
  });

  it('keeps a blocked sender’s reply off their resolved thread: stored as spam, nothing reopened', async () => {
    const t = tag();
    const from = `Karthik <karthik-${t}@tatatextiles.example>`;
    const [first] = await deliver(gmail(t, from));
    expect(first!.status).toBe('open');
    expect((await json('PATCH', `/api/threads/${first!.threadId}`, { body: { status: 'resolved' } })).status).toBe(200);
    await json('POST', '/api/sender-rules', { as: 'manager', body: { kind: 'block', match: 'address', value: `karthik-${t}@tatatextiles.example` } });
    const since = await broadcastsSince(db.sql);
    const reply = mail({
      from,
      subject: `Re: Need rates for 1x20GP Mundra to Jebel Ali ${t}`,
      messageId: `${t}.reply@tatatextiles.example`,
      inReplyTo: first!.rfc,
      references: `<${first!.rfc}>`,
    });
    const [blocked] = await deliver(reply);
    expect(blocked).toMatchObject({ status: 'spam', analysis: 0 });
    expect(blocked!.threadId).not.toBe(first!.threadId);
    const thread = await json('GET', `/api/threads/${first!.threadId}`);
    expect(thread.body).toMatchObject({ status: 'resolved', messageCount: 1 });
    const reopened = await db.sql`select 1 from app.audit_log where entity_id = ${first!.threadId} and action = 'thread.reopened'`;
    expect(reopened).toHaveLength(0);
    expect((await since()).some((b) => b.event === 'thread.updated' && b.payload.data.id === first!.threadId)).toBe(false);
    // The spam thread says where it came from.
    expect((await json('GET', `/api/threads/${blocked!.threadId}`)).body).toMatchObject({ status: 'spam', previousThreadId: first!.threadId });
  });

  it('marking spam keeps the sender’s next mail in spam; not spam lets it into the inbox again', async () => {
    const t = tag();
    const from = `Sales <sales-${t}@rate-offers.example>`;
    const [first] = await deliver(gmail(t, from));
    expect((await json('POST', `/api/threads/${first!.threadId}/spam`)).status).toBe(200);
    const [again] = await deliver(
      mail({ from, subject: `Re: Need rates ${t}`, messageId: `${t}.2@rate-offers.example`, inReplyTo: first!.rfc, references: `<${first!.rfc}>` }),
    );
    expect(again).toMatchObject({ threadId: first!.threadId, status: 'spam', analysis: 0 });
    expect((await json('GET', `/api/threads/${first!.threadId}`)).body.messageCount).toBe(2);

    expect((await json('POST', `/api/threads/${first!.threadId}/not-spam`)).body.thread.status).toBe('open');
    const [later] = await deliver(
      mail({
        from,
        subject: `Re: Need rates ${t}`,
        messageId: `${t}.3@rate-offers.example`,
        inReplyTo: `${t}.2@rate-offers.example`,
        headers: { 'List-Unsubscribe': '<mailto:unsub@rate-offers.example>' },
      }),
    );
    expect(later).toMatchObject({ threadId: first!.threadId, status: 'open', filterReason: null, analysis: 1 });
  });

  it('reads folded list headers as a client writes them', async () => {
    const t = tag();
    const raw = mailchimp(t).replace(/^List-Unsubscribe: (.*)$/m, (_, v: string) => folded('List-Unsubscribe', v));
    expect(raw).toMatch(/List-Unsubscribe:[^\r]*\r\n /);
    const [news] = await deliver(raw);
    expect(news).toMatchObject({ status: 'bulk' });
  });
});
