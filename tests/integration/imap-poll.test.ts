// The IMAP poller against a real Dovecot: mail becomes threads, exactly once whatever happens (the
// same message twice, a poll killed mid-batch, two polls at once, a renumbered folder), every encoding
// and malformed or huge message ends stored or quarantined without stopping the batch, flags stay as
// they were, XOAUTH2 logins work with tokens from the refresh-token exchange, and the minute cron
// enqueues one job per folder.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import { openSecret } from '../../lib/crypto/secrets.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { importArchive } from '../../lib/email/import.js';
import { enqueueMailboxPolls } from '../../lib/email/poll-cron.js';
import { MAX_INGEST_ATTEMPTS, MailboxConnectionError, pollFolder, type PollOptions, type PollResult } from '../../lib/email/poll.js';
import { drainJobs } from '../../lib/jobs/local-dispatcher.js';
import { LocalStorage, useStorage } from '../../lib/storage/index.js';
import { call, json } from '../helpers/api.js';
import { engine, testDatabase, type TestDatabase } from '../helpers/database.js';
import { hasDovecot, startDovecot, USERS, type Dovecot } from '../helpers/dovecot.js';
import { folded, mail, noise } from '../helpers/mail.js';
import { startOAuthServer, type OAuthServer } from '../helpers/oauth-server.js';
import { broadcastsSince } from '../helpers/realtime.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The poller against Dovecot, on one engine: PostgreSQL when the suite has it (its concurrency is the
// real one), else PGlite. Ingest's database work runs on both engines in email-ingest.test.ts; this
// file's half minute per engine is the IMAP side, the same on either.
const here = hasDovecot && (engine === 'postgres' || !process.env.TEST_DATABASE_URL);

let db: TestDatabase;
let dovecot: Dovecot;
let oauth: OAuthServer;
let storageDir: string;
beforeAll(async () => {
  if (!here) return;
  db = await testDatabase();
  setConfig(parseConfig({ ...process.env, ALLOW_PRIVATE_NETWORK_HOSTS: 'true' }));
  storageDir = await mkdtemp(join(tmpdir(), 'banxway-imap-storage-'));
  useStorage(new LocalStorage({ dir: storageDir, secret: config().storageSigningSecret, baseUrl: config().publicBaseUrl }));
  oauth = await startOAuthServer();
  dovecot = await startDovecot({ introspectionUrl: oauth.introspectionUrl });
});
afterAll(async () => {
  if (!here) return;
  await dovecot?.stop();
  await oauth?.close();
  useStorage(undefined);
  await db?.close();
  await rm(storageDir, { recursive: true, force: true });
});

let serial = 0;

interface TestMailbox {
  id: string;
  folders: string[];
  append(raw: string | Buffer, options?: { folder?: number; flags?: string[] }): Promise<number>;
  poll(options?: PollOptions & { folder?: number }): Promise<PollResult>;
}

/** New folders in the ops mailbox, and a mailbox channel (made through the API) that polls them. */
async function testMailbox(options: { folders?: number; auth?: Record<string, unknown> } = {}): Promise<TestMailbox> {
  const n = ++serial;
  const folders = Array.from({ length: options.folders ?? 1 }, (_, i) => `Test-${n}-${i}`);
  for (const f of folders) await dovecot.createFolder(f);
  const res = await json('POST', '/api/channels', {
    as: 'admin',
    body: {
      kind: 'email',
      name: `Mailbox ${n}`,
      address: `ops+t${n}@seahawk-logistics.in`,
      imap: {
        host: '127.0.0.1',
        port: dovecot.port,
        tls: false,
        username: USERS.ops.user,
        auth: options.auth ?? { method: 'password', password: USERS.ops.pass },
      },
      folders,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const id = res.body.id as string;
  return {
    id,
    folders,
    append: (raw, o = {}) => dovecot.append(raw, { folder: folders[o.folder ?? 0], flags: o.flags }),
    poll: ({ folder, ...o } = {}) => pollFolder(SEED_ORG_ID, id, folders[folder ?? 0]!, o),
  };
}

interface StoredMessage {
  id: string;
  threadId: string;
  subject: string;
  fromAddress: string | null;
  bodyText: string;
  bodyHtml: string | null;
  rawStoragePath: string | null;
  rawSize: number;
  uid: number;
  folder: string;
}

async function messagesOf(channelId: string): Promise<StoredMessage[]> {
  const rows = await db.sql<(Omit<StoredMessage, 'uid' | 'folder'> & { metadata: { uid: number; folder: string } })[]>`
    select id, thread_id, subject, from_address, body_text, body_html, raw_storage_path, raw_size, metadata
    from app.messages where channel_id = ${channelId} order by (metadata ->> 'folder'), (metadata ->> 'uid')::int`;
  return rows.map(({ metadata, ...m }) => ({ ...m, uid: metadata.uid, folder: metadata.folder }));
}

async function folderRow(channelId: string, path: string) {
  const [row] = await db.sql<{ uidValidity: string | null; lastUid: string; lastPolledAt: Date | null; lastError: string | null; failingCount: number }[]>`
    select uid_validity, last_uid, last_polled_at, last_error, failing_count from app.mailbox_folders where channel_id = ${channelId} and path = ${path}`;
  return row!;
}

const customer = (n: number) => `0d000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const d = describe.skipIf(!here);

d('new mail becomes threads', () => {
  it('starts threads, joins replies (also header-stripped ones), keeps customers and free-mail senders apart', async () => {
    const box = await testMailbox();
    const since = await broadcastsSince(db.sql);
    const subject = `Rates for 2x40HC Nhava Sheva to Hamburg ${serial}`;
    const q1 = `${randomUUID()}@tatatextiles.example`;
    await box.append(mail({ from: 'Karthik <karthik@tatatextiles.example>', subject, messageId: q1 }));
    await box.append(mail({ from: 'meena@tatatextiles.example', subject: `Re: ${subject}`, inReplyTo: q1, references: `<${q1}>` }));
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: `AW: RE: [EXTERNAL] ${subject}`, messageId: null }));
    await box.append(mail({ from: 'kavita.shah@sunrisepharma.example', subject }));
    await box.append(mail({ from: 'Ravi <ravi.exports@gmail.com>', subject: `Need rates ${serial}` }));
    const last = await box.append(mail({ from: 'Sita <sita.traders@gmail.com>', subject: `Need rates ${serial}` }));

    const result = await box.poll();
    expect(result).toMatchObject({ status: 'done', fetched: 6, stored: 6, duplicates: 0, quarantined: 0, lastUid: last, resynced: false });
    const m = await messagesOf(box.id);
    expect(m).toHaveLength(6);
    const [first, reply, stripped, other, ravi, sita] = m as [StoredMessage, StoredMessage, StoredMessage, StoredMessage, StoredMessage, StoredMessage];
    expect(reply.threadId).toBe(first.threadId);
    expect(stripped.threadId).toBe(first.threadId);
    expect(other.threadId).not.toBe(first.threadId);
    expect(sita.threadId).not.toBe(ravi.threadId);
    const threads =
      await db.sql`select id, customer_id, channel_id, message_count from app.threads where id = any(${[first.threadId, other.threadId, ravi.threadId, sita.threadId]}::uuid[])`;
    const byId = new Map(threads.map((t) => [t.id, t]));
    expect(byId.get(first.threadId)).toMatchObject({ customerId: customer(1), channelId: box.id, messageCount: 3 });
    expect(byId.get(other.threadId)).toMatchObject({ customerId: customer(7) });
    expect(byId.get(ravi.threadId)!.customerId).toBeNull();
    expect(byId.get(sita.threadId)!.customerId).toBeNull();
    const events = await since();
    expect(events.filter((e) => e.event === 'thread.created' && e.topic === `org:${SEED_ORG_ID}`)).toHaveLength(4);

    expect(await folderRow(box.id, box.folders[0]!)).toMatchObject({ lastUid: String(last), lastError: null });
    expect(await box.poll()).toMatchObject({ status: 'done', fetched: 0, stored: 0, lastUid: last });
  });

  it('stores the same message once when it is appended twice', async () => {
    const box = await testMailbox();
    const raw = mail({ from: 'in.export@maersk.example', subject: 'Rollover notice' });
    await box.append(raw);
    await box.append(raw);
    expect(await box.poll()).toMatchObject({ stored: 1, duplicates: 1 });
    expect(await messagesOf(box.id)).toHaveLength(1);
  });

  it('stores mail without a Message-ID once when an archive import and the poll both bring it', async () => {
    const box = await testMailbox();
    const address = `ops+t${serial}@seahawk-logistics.in`;
    const date = new Date('2026-11-24T08:30:00Z');
    // As the sender wrote them (CRLF, as IMAP serves every message): a text attachment in a text
    // transfer encoding, and body lines starting "From " that an mbox writer escapes.
    const withCsv = (subject: string) =>
      [
        'From: Vikram <vikram@roadlines.example>',
        `To: ${address}`,
        `Subject: ${subject}`,
        `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b1"',
        '',
        '--b1',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Trucks for tomorrow attached.',
        'From the yard: 4 trucks at gate 2.',
        '--b1',
        'Content-Type: text/csv; name="trucks.csv"',
        'Content-Disposition: attachment; filename="trucks.csv"',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'truck,container',
        'MH04AB1234,MSKU1234565',
        '--b1--',
        '',
      ].join('\r\n');
    const original = {
      eml: withCsv(`Truck list ${serial}`),
      mboxoEml: withCsv(`Truck list (mbox export) ${serial}`),
      plain: mail({
        from: 'vikram@roadlines.example',
        to: address,
        subject: `Gate-in done ${serial}`,
        messageId: null,
        date,
        body: 'All four in.\r\nFrom here to Nhava Sheva by 18:00.',
      }),
      inMbox: withCsv(`Truck list (mbox) ${serial}`),
    };
    const lf = (raw: string) => raw.replace(/\r\n/g, '\n');
    const dir = await mkdtemp(join(tmpdir(), 'banxway-archive-'));
    try {
      writeFileSync(join(dir, '1.eml'), lf(original.eml));
      // Saved from an mbox: its "From " line kept, and the body's "From " escaped (mboxo).
      writeFileSync(
        join(dir, '2.eml'),
        `From vikram@roadlines.example Tue Nov 24 08:30:00 2026\n${lf(original.mboxoEml).replace('\nFrom the yard', '\n>From the yard')}`,
      );
      writeFileSync(join(dir, '3.eml'), lf(original.plain).replace(/\n$/, ''));
      writeFileSync(
        join(dir, 'archive.mbox'),
        `From vikram@roadlines.example Tue Nov 24 08:30:00 2026\n${lf(original.inMbox).replace('\nFrom the yard', '\n>From the yard')}\n`,
      );
      const imported = await importArchive({ dir, mbox: join(dir, 'archive.mbox'), orgId: SEED_ORG_ID, address });
      expect(imported.map((r) => r.outcome)).toEqual(['stored', 'stored', 'stored', 'stored']);
      for (const raw of Object.values(original)) await box.append(raw);
      expect(await box.poll()).toMatchObject({ status: 'done', fetched: 4, stored: 0, duplicates: 4 });
      const subjects = Object.keys(original).map(
        (_, i) => [`Truck list ${serial}`, `Truck list (mbox export) ${serial}`, `Gate-in done ${serial}`, `Truck list (mbox) ${serial}`][i]!,
      );
      const rows = await db.sql<{ subject: string }[]>`select subject from app.messages where org_id = ${SEED_ORG_ID} and subject = any(${subjects}::text[])`;
      expect(rows.map((r) => r.subject).sort()).toEqual([...subjects].sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never changes flags: unread mail stays unread, flagged stays flagged', async () => {
    const box = await testMailbox();
    const unread = await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Unread' }));
    const flagged = await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Flagged' }), { flags: ['\\Flagged'] });
    const seen = await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Seen' }), { flags: ['\\Seen'] });
    const before = await dovecot.flags(box.folders[0]!);
    expect(await box.poll()).toMatchObject({ stored: 3 });
    const after = await dovecot.flags(box.folders[0]!);
    const visible = (flags: string[] | undefined) => (flags ?? []).filter((f) => f !== '\\Recent');
    expect(visible(after.get(unread))).toEqual([]);
    expect(visible(after.get(flagged))).toEqual(['\\Flagged']);
    expect(visible(after.get(seen))).toEqual(['\\Seen']);
    expect([...after.keys()]).toEqual([...before.keys()]);
  });
});

d('listening with IMAP IDLE', () => {
  it('stores mail that arrives after the poll caught up while it is still listening, then returns when its time is up', async () => {
    const box = await testMailbox();
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Before listening' }));
    let finished = false;
    const polling = box.poll({ idleMs: 4_000 }).finally(() => {
      finished = true;
    });
    while ((await messagesOf(box.id)).length === 0) await new Promise((r) => setTimeout(r, 50));
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'While listening' }));
    let seen = false;
    while (!seen && !finished) {
      seen = (await messagesOf(box.id)).some((m) => m.subject === 'While listening');
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen, 'stored by the listening poll, before it returned').toBe(true);
    expect(finished).toBe(false);
    expect(await polling).toMatchObject({ status: 'done', stored: 2, duplicates: 0 });
    expect((await messagesOf(box.id)).map((m) => m.subject)).toEqual(['Before listening', 'While listening']);
  });
  it('also reads mail whose arrival the server reported in the middle of reading, before listening began', async () => {
    const box = await testMailbox();
    const first = await box.append(mail({ from: 'ops@rtmforwarding.example', subject: 'Pre-alert 1' }));
    for (const n of [2, 3]) await box.append(mail({ from: 'ops@rtmforwarding.example', subject: `Pre-alert ${n}` }));
    let appended = false;
    let finished = false;
    // One message per fetch: the report of the 4th comes inside a later FETCH response, not during IDLE.
    const polling = box
      .poll({
        batchSize: 1,
        idleMs: 4_000,
        beforeCommit: async (uid) => {
          if (uid !== first || appended) return;
          appended = true;
          await box.append(mail({ from: 'ops@rtmforwarding.example', subject: 'Pre-alert 4' }));
        },
      })
      .finally(() => {
        finished = true;
      });
    let seen = false;
    while (!seen && !finished) {
      seen = (await messagesOf(box.id)).some((m) => m.subject === 'Pre-alert 4');
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen, 'stored by the listening poll, before it returned').toBe(true);
    expect(await polling).toMatchObject({ status: 'done', stored: 4 });
  });
});

d('exactly once, whatever happens', () => {
  it('resumes a poll killed mid-batch after the last committed message, losing and doubling nothing', async () => {
    const box = await testMailbox();
    const uids: number[] = [];
    for (let i = 1; i <= 7; i++) uids.push(await box.append(mail({ from: 'j.becker@hamburghome.example', subject: `Delivery ${i}` })));

    // The process "dies" while the 4th message is being stored: its transaction never commits.
    const killed = await box.poll({
      batchSize: 2,
      beforeCommit: (uid) => {
        if (uid === uids[3]) throw new Error('killed');
      },
    });
    expect(killed).toMatchObject({ status: 'failed', stored: 3, lastUid: uids[2] });
    expect((await folderRow(box.id, box.folders[0]!)).lastError).toContain('killed');
    expect(await messagesOf(box.id)).toHaveLength(3);

    // And once more, stopped between two messages.
    const controller = new AbortController();
    const stopped = await box.poll({
      batchSize: 2,
      signal: controller.signal,
      beforeCommit: (uid) => {
        if (uid === uids[4]) controller.abort();
      },
    });
    expect(stopped).toMatchObject({ status: 'aborted', stored: 2, lastUid: uids[4] });

    const rest = await box.poll({ batchSize: 2 });
    expect(rest).toMatchObject({ status: 'done', stored: 2, duplicates: 0, lastUid: uids[6] });
    const m = await messagesOf(box.id);
    expect(m.map((x) => x.uid)).toEqual(uids);
    expect(m.map((x) => x.subject)).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `Delivery ${i}`));
    expect(await folderRow(box.id, box.folders[0]!)).toMatchObject({ lastError: null, failingCount: 0 });
  });

  it(`quarantines a message whose storing fails ${MAX_INGEST_ATTEMPTS} polls in a row, then goes on`, async () => {
    const box = await testMailbox();
    const a = await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Fine 1' }));
    const poison = await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Always fails' }));
    const c = await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Fine 2' }));
    const breaker: PollOptions['beforeCommit'] = (uid, outcome) => {
      if (uid === poison && outcome !== 'quarantined') throw new Error('value too long for the index');
    };
    for (let i = 1; i <= MAX_INGEST_ATTEMPTS; i++) {
      expect(await box.poll({ beforeCommit: breaker })).toMatchObject({ status: 'failed', lastUid: a });
      expect((await folderRow(box.id, box.folders[0]!)).failingCount).toBe(i);
    }
    expect(await box.poll({ beforeCommit: breaker })).toMatchObject({ status: 'done', quarantined: 1, stored: 1, lastUid: c });
    const [q] = await db.sql`select uid, error, raw_storage_path from app.mail_quarantine where channel_id = ${box.id}`;
    expect(q).toMatchObject({ uid: String(poison), error: expect.stringContaining('value too long for the index') });
    expect(q!.rawStoragePath).toMatch(/^org\/.+\/raw\/[0-9a-f]{64}\.eml$/);
    expect((await messagesOf(box.id)).map((m) => m.subject)).toEqual(['Fine 1', 'Fine 2']);

    // The admin API lists it; once the cause is gone (no breaker here), reprocessing stores it in order.
    const listed = await json('GET', `/api/admin/mail-quarantine?channelId=${box.id}&folder=${encodeURIComponent(box.folders[0]!)}`, { as: 'admin' });
    expect(listed.body.data).toEqual([
      expect.objectContaining({ uid: poison, status: 'open', error: expect.stringContaining('value too long for the index') }),
    ]);
    const reprocessed = await json('POST', `/api/admin/mail-quarantine/${listed.body.data[0].id}/reprocess`, { as: 'admin' });
    expect(reprocessed.body).toMatchObject({ outcome: 'stored', quarantine: { status: 'reprocessed' } });
    expect((await messagesOf(box.id)).map((m) => [m.subject, m.uid])).toEqual([
      ['Fine 1', a],
      ['Always fails', poison],
      ['Fine 2', c],
    ]);
  });

  it('stores each message once when two polls of a folder run at the same time', async () => {
    const box = await testMailbox();
    let last = 0;
    for (let i = 1; i <= 9; i++) last = await box.append(mail({ from: 'ops@rtmforwarding.example', subject: `Pre-alert ${i}` }));
    const results = await Promise.all([box.poll({ batchSize: 3 }), box.poll({ batchSize: 3 })]);
    expect(results[0]!.stored + results[1]!.stored).toBe(9);
    expect(results[0]!.duplicates + results[1]!.duplicates).toBe(0);
    const m = await messagesOf(box.id);
    expect(m).toHaveLength(9);
    expect(new Set(m.map((x) => x.uid)).size).toBe(9);
    expect((await folderRow(box.id, box.folders[0]!)).lastUid).toBe(String(last));
  });

  it('makes one contact and one thread per new sender when two folders naming them are polled at once', async () => {
    const box = await testMailbox({ folders: 2 });
    const senders = Array.from({ length: 5 }, (_, i) => `first.contact${i}.${randomUUID().slice(0, 6)}@newagent${i}.example`);
    // The inbox has their first mails, Sent our answers, in the other order.
    for (const s of senders) await box.append(mail({ from: s, to: `ops+t${serial}@seahawk-logistics.in`, subject: `Agency agreement ${s}` }), { folder: 0 });
    for (const s of [...senders].reverse())
      await box.append(mail({ from: `ops+t${serial}@seahawk-logistics.in`, to: s, subject: `Re: Agency agreement ${s}` }), { folder: 1 });
    const results = await Promise.all([box.poll({ folder: 0 }), box.poll({ folder: 1 })]);
    expect(results.map((r) => [r.status, r.stored])).toEqual([
      ['done', 5],
      ['done', 5],
    ]);
    const contacts = await db.sql<{ email: string }[]>`select email from app.contacts where email = any(${senders}::text[])`;
    expect(contacts.map((c) => c.email).sort()).toEqual([...senders].sort());
    const threads = await db.sql<
      { counterpart: string; messageCount: number }[]
    >`select counterpart, message_count from app.threads where counterpart = any(${senders}::text[])`;
    expect(threads.map((t) => [t.counterpart, t.messageCount]).sort()).toEqual([...senders].sort().map((s) => [s, 2]));
  });

  it('reads a renumbered folder (new UIDVALIDITY) again without storing anything twice', async () => {
    const box = await testMailbox();
    const folder = box.folders[0]!;
    const one = mail({ from: 'ramesh@jaihindcha.example', subject: 'BE filing 1' });
    const two = mail({ from: 'ramesh@jaihindcha.example', subject: 'BE filing 2' });
    await box.append(one);
    await box.append(two);
    expect(await box.poll()).toMatchObject({ stored: 2 });
    const before = await folderRow(box.id, folder);

    await dovecot.deleteFolder(folder);
    await dovecot.createFolder(folder);
    await box.append(two);
    await box.append(mail({ from: 'ramesh@jaihindcha.example', subject: 'BE filing 3' }));
    await box.append(one);
    const validity = await dovecot.uidValidity(folder);
    expect(String(validity)).not.toBe(before.uidValidity);

    const again = await box.poll();
    expect(again).toMatchObject({ status: 'done', resynced: true, stored: 1, duplicates: 2, lastUid: 3, uidValidity: String(validity) });
    expect((await messagesOf(box.id)).map((m) => m.subject).sort()).toEqual(['BE filing 1', 'BE filing 2', 'BE filing 3']);
    expect(await folderRow(box.id, folder)).toMatchObject({ uidValidity: String(validity), lastUid: '3' });
  });
});

d('every kind of message ends stored or quarantined, and the batch goes on', () => {
  it('decodes quoted-printable, base64, ISO-8859-1 and encoded-word headers; reads HTML-only mail; keeps attachments', async () => {
    const box = await testMailbox();
    const head = (subject: string, extra: string[] = []) =>
      [
        `From: =?UTF-8?Q?J=C3=B6rg_Becker?= <j.becker@hamburghome.example>`,
        'To: ops@seahawk-logistics.in',
        `Subject: ${subject}`,
        `Message-ID: <${randomUUID()}@hamburghome.example>`,
        'Date: Tue, 24 Nov 2026 09:00:00 +0100',
        'MIME-Version: 1.0',
        ...extra,
      ].join('\r\n');
    await box.append(
      `${head('Quoted', ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'])}\r\n\r\nGr=C3=BC=C3=9Fe aus M=C3=BCnchen, die Lieferung ist=\r\n unterwegs.\r\n`,
    );
    await box.append(
      `${head('Base64', ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'])}\r\n\r\n${Buffer.from('Container MSKU1234565 ist verladen — danke!', 'utf8').toString('base64')}\r\n`,
    );
    await box.append(
      Buffer.concat([
        Buffer.from(`${head('Latin-1', ['Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: 8bit'])}\r\n\r\n`),
        Buffer.from('Lieferung für Köln: 3 Paletten, Gebühr 45 €? Nein: 45 EUR.\r\n', 'latin1'),
      ]),
    );
    await box.append(
      `${head('=?UTF-8?B?' + Buffer.from('Ankunft in Hamburg – 3 Paletten ✓').toString('base64') + '?=', ['Content-Type: text/plain; charset=utf-8'])}\r\n\r\nSiehe Betreff.\r\n`,
    );
    await box.append(
      `${head('HTML only', ['Content-Type: text/html; charset=utf-8'])}\r\n\r\n<html><body><p>Your <b>booking</b> BKG-4471 is confirmed.</p><script>alert(1)</script></body></html>\r\n`,
    );
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(3000)]);
    await box.append(
      [
        head('Invoice attached', ['Content-Type: multipart/mixed; boundary="b1"']),
        '',
        '--b1',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Please find the invoice attached.',
        '--b1',
        'Content-Type: application/pdf; name="SHL-INV-1187.pdf"',
        'Content-Disposition: attachment; filename="SHL-INV-1187.pdf"',
        'Content-Transfer-Encoding: base64',
        '',
        pdf.toString('base64').replace(/.{76}/g, '$&\r\n'),
        '--b1--',
        '',
      ].join('\r\n'),
    );
    expect(await box.poll()).toMatchObject({ status: 'done', stored: 6, quarantined: 0 });
    const m = await messagesOf(box.id);
    const bySubject = new Map(m.map((x) => [x.subject, x]));
    expect(bySubject.get('Quoted')!.bodyText).toBe('Grüße aus München, die Lieferung ist unterwegs.');
    expect(bySubject.get('Base64')!.bodyText).toBe('Container MSKU1234565 ist verladen — danke!');
    expect(bySubject.get('Latin-1')!.bodyText).toContain('Lieferung für Köln');
    expect(bySubject.has('Ankunft in Hamburg – 3 Paletten ✓')).toBe(true);
    const html = bySubject.get('HTML only')!;
    expect(html.bodyText).toContain('BKG-4471 is confirmed');
    expect(html.bodyHtml).toContain('<b>booking</b>');
    expect(html.bodyHtml).not.toContain('<script');
    const names = await db.sql`select distinct from_name from app.messages where channel_id = ${box.id}`;
    expect(names.map((r) => r.fromName)).toEqual(['Jörg Becker']);
    const invoice = bySubject.get('Invoice attached')!;
    const attachments =
      await db.sql`select filename, content_type, size_bytes::int as size_bytes, status from app.attachments where message_id = ${invoice.id}`;
    expect(attachments).toEqual([{ filename: 'SHL-INV-1187.pdf', contentType: 'application/pdf', sizeBytes: pdf.length, status: 'ready' }]);
  });

  it('stores a 20 MB message', async () => {
    const box = await testMailbox();
    const payload = randomBytes(15 * 1024 * 1024);
    const raw = Buffer.from(
      [
        'From: in.export@maersk.example',
        'To: ops@seahawk-logistics.in',
        'Subject: Scanned B/L set',
        `Message-ID: <${randomUUID()}@maersk.example>`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="big"',
        '',
        '--big',
        'Content-Type: text/plain',
        '',
        'Scans attached.',
        '--big',
        'Content-Type: application/octet-stream; name="scans.tif"',
        'Content-Disposition: attachment; filename="scans.tif"',
        'Content-Transfer-Encoding: base64',
        '',
        payload.toString('base64').replace(/.{76}/g, '$&\r\n'),
        '--big--',
        '',
      ].join('\r\n'),
    );
    expect(raw.length).toBeGreaterThan(20_000_000);
    let t = performance.now();
    await box.append(raw);
    const appendMs = performance.now() - t;
    t = performance.now();
    expect(await box.poll()).toMatchObject({ status: 'done', stored: 1 });
    const pollMs = performance.now() - t;
    console.info(`[imap-poll] 20 MB message (${raw.length} bytes): append ${Math.round(appendMs)} ms, poll ${Math.round(pollMs)} ms`);
    const [m] = await messagesOf(box.id);
    expect(m!.rawSize).toBe(raw.length);
    const [a] = await db.sql`select size_bytes::int as size_bytes from app.attachments where message_id = ${m!.id}`;
    expect(a!.sizeBytes).toBe(payload.length);
  }, 180_000);

  it('quarantines a message over the size limit without downloading it', async () => {
    const box = await testMailbox();
    const big = await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Big', body: 'x'.repeat(300_000) }));
    const after = await box.poll({ maxMessageBytes: 100_000 });
    expect(after).toMatchObject({ status: 'done', quarantined: 1, fetched: 0, lastUid: big });
    const [q] = await db.sql`select error, raw_storage_path from app.mail_quarantine where channel_id = ${box.id}`;
    expect(q).toMatchObject({ rawStoragePath: null, error: expect.stringContaining('more than the 100000-byte limit') });
  });

  it('quarantines what cannot be read at all, stores malformed MIME as best it can, and finishes the batch', async () => {
    const box = await testMailbox();
    // A copy of its own: the fixture test stores this file too, and without a usable Message-ID the same
    // bytes are the same message (its content hash). A Cc line of this test's own changes that hash and
    // nothing of what is broken.
    const malformedRaw = Buffer.concat([Buffer.from(`Cc: run-${randomUUID()}@example.com\n`), readFileSync(join(ROOT, 'tests/fixtures/mime/malformed.eml'))]);
    const malformed = await box.append(malformedRaw);
    const junkBytes = Buffer.alloc(6000);
    for (let i = 0; i < junkBytes.length; i++) junkBytes[i] = 1 + (i % 7);
    const junk = await box.append(junkBytes);
    const after = await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'After the junk' }));
    expect(await box.poll()).toMatchObject({ status: 'done', stored: 2, quarantined: 1, lastUid: after });
    const [q] = await db.sql`select uid, uid_validity, raw_storage_path, raw_size, error from app.mail_quarantine where channel_id = ${box.id}`;
    expect(q).toMatchObject({ uid: String(junk), rawSize: 6000, error: expect.stringContaining('cannot be read') });
    expect(q!.rawStoragePath).toBeTruthy();
    expect((await messagesOf(box.id)).map((m) => m.uid)).toEqual([malformed, after]);
  });

  it('stores mail with a 6,000-character subject, a 3,500-character From and huge ids on the first poll', async () => {
    const box = await testMailbox();
    const raw = (...headers: string[]) =>
      [
        ...headers,
        `To: ${box.folders[0]}@seahawk-logistics.in`,
        `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Details below.',
        '',
      ].join('\r\n');
    const subject = noise(6000);
    const address = `${noise(3500, '.')}@longsender.example`.toLowerCase();
    const name = noise(3500);
    const uids = [
      await box.append(raw('From: shipper@longsubject.example', folded('Subject', subject))),
      await box.append(raw(`From: <${address}>`, 'Subject: Long address')),
      await box.append(raw(folded('From', `"${name}" <someone@longname.example>`), 'Subject: Long name')),
      await box.append(raw('From: agent@longids.example', 'Subject: Long id', `Message-ID: <${noise(5000, '')}@longids.example>`)),
      await box.append(
        raw(
          'From: agent@longids.example',
          'Subject: Many references',
          folded('References', Array.from({ length: 500 }, () => `<${noise(60, '')}@longids.example>`).join(' ')),
        ),
      ),
    ];
    expect(await box.poll()).toMatchObject({ status: 'done', fetched: 5, stored: 5, quarantined: 0, lastUid: uids[4] });
    expect(await folderRow(box.id, box.folders[0]!)).toMatchObject({ failingCount: 0, lastError: null });
    const stored = await messagesOf(box.id);
    expect(stored.map((m) => m.uid)).toEqual(uids);
    expect(stored[0]!.subject).toBe(subject);
    expect(stored[1]!.fromAddress).toBe(address);
  });

  it('takes every real-world fixture: each ends stored or quarantined and the folder is caught up', async () => {
    const dirs = [join(ROOT, 'tests/fixtures/mime'), resolve(ROOT, '../shared/fixtures/mime')].filter((dir) => existsSync(dir));
    if (dirs.length < 2) console.warn('[imap-poll] ../shared/fixtures/mime is not present: only the repository fixtures are used');
    const files = dirs.flatMap((dir) =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.eml'))
        .map((f) => join(dir, f)),
    );
    const box = await testMailbox();
    let last = 0;
    for (const file of files) last = await box.append(readFileSync(file));
    const totals = { stored: 0, duplicates: 0, quarantined: 0 };
    let result: PollResult | undefined;
    for (let run = 0; run < 5 && result?.status !== 'done'; run++) {
      result = await box.poll();
      totals.stored += result.stored;
      totals.duplicates += result.duplicates;
      totals.quarantined += result.quarantined;
    }
    expect(result).toMatchObject({ status: 'done', lastUid: last });
    expect(totals.stored + totals.duplicates + totals.quarantined).toBe(files.length);
    const quarantined = await db.sql`select count(*)::int as n from app.mail_quarantine where channel_id = ${box.id}`;
    expect(quarantined[0]!.n).toBe(totals.quarantined);
    expect((await messagesOf(box.id)).length).toBe(totals.stored);
    console.info(`[imap-poll] ${files.length} fixtures: ${JSON.stringify(totals)}`);
  }, 120_000);
});

d('logging in', () => {
  it('logs in with XOAUTH2 using an access token from the refresh-token exchange, cached until it expires', async () => {
    oauth.addGrant({ clientId: 'banxway-test', clientSecret: 'client-secret-1', refreshToken: 'rt-initial', username: USERS.ops.user });
    const box = await testMailbox({
      auth: {
        method: 'oauth2',
        provider: 'custom',
        clientId: 'banxway-test',
        clientSecret: 'client-secret-1',
        refreshToken: 'rt-initial',
        tokenUrl: oauth.tokenUrl,
        scope: 'imap',
      },
    });
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Via XOAUTH2' }));
    const requestsBefore = oauth.tokenRequests.length;
    expect(await box.poll()).toMatchObject({ status: 'done', stored: 1 });
    const requests = oauth.tokenRequests.slice(requestsBefore);
    expect(requests).toEqual([
      { grantType: 'refresh_token', clientId: 'banxway-test', clientSecret: 'client-secret-1', refreshToken: 'rt-initial', scope: 'imap' },
    ]);
    expect(dovecot.log()).toMatch(/Login: user=<ops@example\.test>, method=XOAUTH2/);
    const sealed = await db.sql`select secret_ciphertext, secret_key_id from app.channels where id = ${box.id}`;
    const secret = openSecret<{ accessToken: string; accessTokenExpiresAt: string; refreshToken: string }>(
      { ciphertext: sealed[0]!.secretCiphertext, keyId: sealed[0]!.secretKeyId },
      SEED_ORG_ID,
    );
    expect(secret.refreshToken).toBe('rt-initial');
    expect(oauth.introspected.at(-1)).toBe(secret.accessToken);

    // Cached: the next poll asks the token endpoint nothing.
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Via XOAUTH2 again' }));
    expect(await box.poll()).toMatchObject({ stored: 1 });
    expect(oauth.tokenRequests.length - requestsBefore).toBe(1);

    // Revoked before its expiry: one fresh exchange, and the login works.
    oauth.revoke(secret.accessToken);
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'After revocation' }));
    expect(await box.poll()).toMatchObject({ stored: 1 });
    expect(oauth.tokenRequests.length - requestsBefore).toBe(2);

    // A provider that rotates refresh tokens: the new one is kept (the old one no longer works).
    oauth.rotateRefreshTokens = true;
    oauth.expiresIn = 30; // inside the one-minute margin: every poll exchanges again
    try {
      oauth.revoke(oauth.introspected.at(-1)!);
      expect(await box.poll()).toMatchObject({ status: 'done' });
      expect(await box.poll()).toMatchObject({ status: 'done' });
      const rows = await db.sql`select secret_ciphertext, secret_key_id from app.channels where id = ${box.id}`;
      const rotated = openSecret<{ refreshToken: string }>({ ciphertext: rows[0]!.secretCiphertext, keyId: rows[0]!.secretKeyId }, SEED_ORG_ID);
      expect(rotated.refreshToken).toMatch(/^rt-[0-9a-f]{24}$/);
      expect(oauth.tokenRequests.at(-1)!.refreshToken).not.toBe('rt-initial');
    } finally {
      oauth.rotateRefreshTokens = false;
      oauth.expiresIn = 3600;
    }
    expect((await messagesOf(box.id)).map((m) => m.subject)).toEqual(['Via XOAUTH2', 'Via XOAUTH2 again', 'After revocation']);
  });

  it('marks the mailbox failing when the login is refused, and healthy again once it works', async () => {
    const box = await testMailbox({ auth: { method: 'password', password: 'wrong-password' } });
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Waiting' }));
    const since = await broadcastsSince(db.sql);
    const error = await box.poll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailboxConnectionError);
    expect((error as Error).message).toContain(`refused the login for ${USERS.ops.user}`);
    const failing = await json('GET', `/api/channels/${box.id}`, { as: 'viewer' });
    expect(failing.body).toMatchObject({ status: 'error', lastError: expect.stringContaining('refused the login') });
    expect(failing.body.folderStatus[0].lastError).toContain('refused the login');
    expect((await since()).map((e) => [e.event, e.payload.data.status])).toEqual([['channel.updated', 'error']]);

    const grantless = await testMailbox({
      auth: { method: 'oauth2', provider: 'custom', clientId: 'banxway-test', refreshToken: 'rt-unknown', tokenUrl: oauth.tokenUrl },
    });
    const oauthError = await grantless.poll().catch((e: unknown) => e);
    expect((oauthError as Error).message).toContain('The provider refused the refresh token (invalid_grant');

    const fixed = await json('PATCH', `/api/channels/${box.id}`, { as: 'admin', body: { imap: { auth: { method: 'password', password: USERS.ops.pass } } } });
    expect(fixed.body.status).toBe('active');
    await db.sql`update app.channels set status = 'error' where id = ${box.id}`;
    expect(await box.poll()).toMatchObject({ status: 'done', stored: 1 });
    const healthy = await json('GET', `/api/channels/${box.id}`, { as: 'viewer' });
    expect(healthy.body).toMatchObject({ status: 'active', lastError: null });
    expect(healthy.body.lastSyncedAt).not.toBeNull();
  });

  it('reports a folder the server does not have on that folder, and polls the others', async () => {
    const box = await testMailbox({ folders: 2 });
    await dovecot.deleteFolder(box.folders[1]!);
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Still arrives' }));
    expect(await box.poll({ folder: 1 })).toMatchObject({ status: 'failed', error: expect.stringContaining(`"${box.folders[1]}" cannot be opened`) });
    expect(await box.poll()).toMatchObject({ status: 'done', stored: 1 });
    const channel = await json('GET', `/api/channels/${box.id}`, { as: 'viewer' });
    expect(channel.body.status).toBe('active');
    expect(channel.body.folderStatus.map((f: { lastError: string | null }) => f.lastError)).toEqual([null, expect.stringContaining('cannot be opened')]);
  });

  it('leaves the rest for the next poll when the time budget runs out', async () => {
    const box = await testMailbox();
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'Later' }));
    expect(await box.poll({ timeBudgetMs: 0 })).toMatchObject({ status: 'budget', stored: 0, lastUid: 0 });
    expect(await box.poll()).toMatchObject({ status: 'done', stored: 1 });
  });
});

d('the minute cron and the email.poll job', () => {
  it('enqueues one job per enabled folder, never twice while one is waiting, and the jobs store the mail', async () => {
    expect((await call('GET', '/api/cron/email-poll', { token: null })).status).toBe(401);
    await db.sql`update app.channels set status = 'disabled' where org_id = ${SEED_ORG_ID}`;
    const box = await testMailbox({ folders: 2 });
    await box.append(mail({ from: 'karthik@tatatextiles.example', subject: 'In folder 0' }), { folder: 0 });
    await box.append(mail({ from: 'kavita.shah@sunrisepharma.example', subject: 'In folder 1' }), { folder: 1 });
    const cron = () => call('GET', '/api/cron/email-poll', { token: null, headers: { authorization: `Bearer ${config().cronSecret}` } }).then((r) => r.json());

    const first = (await cron()) as { ok: boolean; result: { folders: number; jobs: number } };
    expect(first).toEqual({ ok: true, result: { folders: 2, jobs: 2, organizations: 1 } });
    expect(((await cron()) as { result: { folders: number } }).result.folders).toBe(0);
    const jobs =
      await db.sql`select payload, max_attempts, dedupe_key from app.outbox where name = 'email.poll' and status = 'pending' order by payload ->> 'folder'`;
    expect(jobs.map((j) => j.payload)).toEqual(box.folders.map((folder) => ({ channelId: box.id, folder })));
    expect(jobs.every((j) => j.maxAttempts === 3 && /^poll:[0-9a-f-]{36}:\d+$/.test(j.dedupeKey))).toBe(true);

    await drainJobs();
    const polls = await db.sql`select status from app.outbox where name = 'email.poll'`;
    expect(polls.map((j) => j.status)).toEqual(['done', 'done']);
    const m = await messagesOf(box.id);
    expect(m.map((x) => [x.folder, x.subject])).toEqual([
      [box.folders[0], 'In folder 0'],
      [box.folders[1], 'In folder 1'],
    ]);
    for (const folder of box.folders) expect((await folderRow(box.id, folder)).lastPolledAt).not.toBeNull();

    // The same minute again: the jobs exist (done), nothing new is made.
    const minute = Number(String(jobs[0]!.dedupeKey).split(':').pop());
    const again = await enqueueMailboxPolls({ now: new Date(minute * 60_000 + 59_000) });
    expect(again).toEqual({ folders: 2, jobs: 2, organizations: 1 });
    expect((await db.sql`select count(*)::int as n from app.outbox where name = 'email.poll'`)[0]!.n).toBe(2);
    // The next minute polls again; a disabled mailbox is not polled.
    expect(await enqueueMailboxPolls({ now: new Date((minute + 1) * 60_000) })).toMatchObject({ folders: 2 });
    await drainJobs();
    await db.sql`update app.channels set status = 'disabled' where id = ${box.id}`;
    expect(((await cron()) as { result: { folders: number } }).result.folders).toBe(0);
  });
});
