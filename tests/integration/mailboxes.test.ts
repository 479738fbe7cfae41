// Mailbox channels through the API: secrets are write-only, private hosts are refused (when saved and
// again when connecting), folders and their sync state follow changes, DELETE disables, and the test
// endpoint logs in to a real Dovecot and says clearly what went wrong when it cannot.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../lib/channels/net-guard.js';
import { parseConfig, setConfig } from '../../lib/config.js';
import { openSecret } from '../../lib/crypto/secrets.js';
import { SEED_ORG_ID } from '../../lib/dev/seed.js';
import { json } from '../helpers/api.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { hasDovecot, startDovecot, USERS, type Dovecot } from '../helpers/dovecot.js';
import { broadcastsSince } from '../helpers/realtime.js';

const allowPrivateHosts = (allow: boolean) => setConfig(parseConfig({ ...process.env, ALLOW_PRIVATE_NETWORK_HOSTS: String(allow) }));

let db: TestDatabase;
let dovecot: Dovecot | undefined;
beforeAll(async () => {
  db = await testDatabase();
  allowPrivateHosts(false);
  if (hasDovecot) dovecot = await startDovecot();
});
afterAll(async () => {
  await dovecot?.stop();
  await db.close();
});

const PASSWORD = 'hunter2-mailbox-password';
const REFRESH_TOKEN = '1//0g-refresh-token-that-must-never-leak';
const CLIENT_SECRET = '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r-leak';

function mailbox(over: Record<string, unknown> = {}) {
  return {
    kind: 'email',
    name: 'Ops inbox',
    address: `ops+${randomUUID().slice(0, 8)}@seahawk-logistics.in`,
    imap: { host: '203.0.113.10', username: 'ops@seahawk-logistics.in', auth: { method: 'password', password: PASSWORD } },
    ...over,
  };
}

const create = (body: unknown, as: 'admin' | 'owner' = 'admin') => json('POST', '/api/channels', { as, body });
const issuePaths = (body: { error: { details?: { issues: { path: string }[] } } }) => body.error.details?.issues.map((i) => i.path) ?? [];

async function storedSecret(id: string) {
  const [row] = await db.sql<{ secretCiphertext: string; secretKeyId: string }[]>`select secret_ciphertext, secret_key_id from app.channels where id = ${id}`;
  return {
    raw: row!.secretCiphertext,
    value: openSecret<Record<string, unknown>>({ ciphertext: row!.secretCiphertext, keyId: row!.secretKeyId }, SEED_ORG_ID),
  };
}

describe('adding a mailbox', () => {
  it('seals the password and never shows it: responses, lists, events and the audit trail say only passwordSet', async () => {
    const since = await broadcastsSince(db.sql);
    const res = await create(mailbox());
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: 'email',
      name: 'Ops inbox',
      status: 'active',
      imap: { host: '203.0.113.10', port: 993, tls: true, username: 'ops@seahawk-logistics.in', auth: { method: 'password', passwordSet: true } },
      threadToken: 'reply_to',
      folders: ['INBOX'],
      folderStatus: [{ path: 'INBOX', lastUid: 0, lastPolledAt: null, lastError: null }],
    });
    const id = res.body.id as string;
    const secret = await storedSecret(id);
    expect(secret.raw).not.toContain(PASSWORD);
    expect(secret.value).toEqual({ password: PASSWORD });

    const one = await json('GET', `/api/channels/${id}`, { as: 'viewer' });
    const list = await json('GET', '/api/channels?kind=email', { as: 'viewer' });
    expect(one.status).toBe(200);
    expect(list.body.data.map((c: { id: string }) => c.id)).toContain(id);
    const events = await since();
    expect(events.map((e) => [e.event, e.topic])).toContainEqual(['channel.created', `org:${SEED_ORG_ID}`]);
    const audit = await db.sql`select data from app.audit_log where entity_id = ${id}`;
    for (const text of [JSON.stringify(res.body), JSON.stringify(one.body), JSON.stringify(list.body), JSON.stringify(events), JSON.stringify(audit)]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(secret.raw);
    }
  });

  it('takes an OAuth 2.0 refresh token, fills in the provider token URL and shows only that tokens are set', async () => {
    const google = await create(
      mailbox({
        imap: {
          host: '203.0.113.11',
          username: 'ops@seahawk-logistics.in',
          auth: { method: 'oauth2', provider: 'google', clientId: 'cid.apps.googleusercontent.com', clientSecret: CLIENT_SECRET, refreshToken: REFRESH_TOKEN },
        },
      }),
    );
    expect(google.status).toBe(201);
    expect(google.body.imap.auth).toEqual({
      method: 'oauth2',
      provider: 'google',
      clientId: 'cid.apps.googleusercontent.com',
      tokenUrl: 'https://oauth2.googleapis.com/token',
      scope: null,
      clientSecretSet: true,
      oauthRefreshTokenSet: true,
    });
    expect(JSON.stringify(google.body)).not.toMatch(/must-never-leak/);
    expect((await storedSecret(google.body.id)).value).toEqual({ refreshToken: REFRESH_TOKEN, clientSecret: CLIENT_SECRET });

    const microsoft = await create(
      mailbox({
        imap: {
          host: '203.0.113.12',
          username: 'ops@seahawk-logistics.in',
          auth: {
            method: 'oauth2',
            provider: 'microsoft',
            clientId: 'app-id',
            refreshToken: REFRESH_TOKEN,
            scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access',
          },
        },
      }),
    );
    expect(microsoft.body.imap.auth).toMatchObject({ tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token', clientSecretSet: false });

    const custom = await create(
      mailbox({ imap: { host: '203.0.113.13', username: 'u', auth: { method: 'oauth2', provider: 'custom', clientId: 'c', refreshToken: 'r' } } }),
    );
    expect(custom.status).toBe(422);
    expect(issuePaths(custom.body)).toEqual(['body.imap.auth.tokenUrl']);
  });

  it('answers 422 naming each bad field, 409 for an address already in use, and defaults port 143 without TLS', async () => {
    const bad = await create({
      kind: 'email',
      name: '',
      address: 'not-an-address',
      imap: { host: 'bad host!', port: 70000, username: 'u', auth: { method: 'password' } },
      folders: [],
    });
    expect(bad.status).toBe(422);
    expect(issuePaths(bad.body).sort()).toEqual(['body.address', 'body.folders', 'body.imap.auth.password', 'body.imap.host', 'body.imap.port', 'body.name']);
    expect((await create({ ...mailbox(), kind: 'sms' })).status).toBe(422);
    const twice = await create(mailbox({ folders: ['INBOX', 'inbox'] }));
    expect(issuePaths(twice.body)).toEqual(['body.folders']);

    const first = await create(mailbox({ imap: { host: '203.0.113.20', tls: false, username: 'u', auth: { method: 'password', password: 'p' } } }));
    expect(first.body.imap).toMatchObject({ port: 143, tls: false });
    const again = await create(mailbox({ address: first.body.address }));
    expect(again.status).toBe(409);
  });
});

describe('private and loopback hosts', () => {
  it('knows which addresses are not the public internet', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '100.64.0.1',
      '100.127.255.255',
      '169.254.169.254',
      '0.0.0.0',
      '::',
      '::1',
      'fe80::1%eth0',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:10.0.0.1',
      '::ffff:7f00:1',
      '::127.0.0.1',
      '64:ff9b::a00:1',
      '2002:c0a8:101::1',
      'ff02::1',
      '224.0.0.1',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '203.0.113.10', '100.128.0.1', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '2606:4700::1111']) {
      expect(isPrivateAddress(a), a).toBe(false);
    }
  });

  it('refuses them (and names that resolve to them) with 422 naming body.imap.host', async () => {
    for (const host of [
      '127.0.0.1',
      'localhost',
      '10.1.2.3',
      '172.16.5.4',
      '192.168.1.10',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '::1',
      '[::1]',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:10.0.0.1',
      '::ffff:127.0.0.1',
    ]) {
      const res = await create(mailbox({ imap: { host, username: 'u', auth: { method: 'password', password: 'p' } } }));
      expect(res.status, host).toBe(422);
      expect(issuePaths(res.body), host).toEqual(['body.imap.host']);
      expect(res.body.error.message).toMatch(/private|loopback/);
    }
    for (const tokenUrl of ['http://127.0.0.1:8080/token', 'https://10.0.0.1/token', 'http://203.0.113.10/token']) {
      const res = await create(
        mailbox({ imap: { host: '203.0.113.30', username: 'u', auth: { method: 'oauth2', provider: 'custom', clientId: 'c', refreshToken: 'r', tokenUrl } } }),
      );
      expect(res.status, tokenUrl).toBe(422);
      expect(issuePaths(res.body)).toEqual(['body.imap.auth.tokenUrl']);
    }
    const ok = await create(mailbox());
    const patch = await json('PATCH', `/api/channels/${ok.body.id}`, { as: 'admin', body: { imap: { host: 'localhost' } } });
    expect(patch.status).toBe(422);
    expect(issuePaths(patch.body)).toEqual(['body.imap.host']);
  });
});

describe('changing and disabling a mailbox', () => {
  it('replaces a secret, keeps it when left out, and follows folders added and removed', async () => {
    const { body: created } = await create(mailbox({ folders: ['INBOX', 'Bookings'] }));
    const id = created.id as string;
    const since = await broadcastsSince(db.sql);
    const renamed = await json('PATCH', `/api/channels/${id}`, { as: 'owner', body: { name: 'Exports desk', imap: { auth: { method: 'password' } } } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Exports desk', imap: { auth: { method: 'password', passwordSet: true } } });
    expect((await storedSecret(id)).value).toEqual({ password: PASSWORD });

    const changed = await json('PATCH', `/api/channels/${id}`, {
      as: 'admin',
      body: { imap: { auth: { method: 'password', password: 'new-password-2' } }, folders: ['INBOX', 'Rates'] },
    });
    expect(changed.body.folders).toEqual(['INBOX', 'Rates']);
    expect(JSON.stringify(changed.body)).not.toContain('new-password-2');
    expect((await storedSecret(id)).value).toEqual({ password: 'new-password-2' });
    const rows = await db.sql`select path, enabled from app.mailbox_folders where channel_id = ${id} order by path`;
    expect(rows.map((r) => [r.path, r.enabled])).toEqual([
      ['Bookings', false],
      ['INBOX', true],
      ['Rates', true],
    ]);
    expect((await since()).filter((e) => e.event === 'channel.updated')).toHaveLength(2);

    const toOAuth = await json('PATCH', `/api/channels/${id}`, {
      as: 'admin',
      body: { imap: { auth: { method: 'oauth2', provider: 'google', clientId: 'cid' } } },
    });
    expect(toOAuth.status).toBe(422);
    expect(issuePaths(toOAuth.body)).toEqual(['body.imap.auth.refreshToken']);
    const oauth = await json('PATCH', `/api/channels/${id}`, {
      as: 'admin',
      body: { imap: { auth: { method: 'oauth2', provider: 'google', clientId: 'cid', refreshToken: REFRESH_TOKEN } } },
    });
    expect(oauth.body.imap.auth).toMatchObject({
      method: 'oauth2',
      oauthRefreshTokenSet: true,
      clientSecretSet: false,
      tokenUrl: 'https://oauth2.googleapis.com/token',
    });
    const scoped = await json('PATCH', `/api/channels/${id}`, {
      as: 'admin',
      body: { imap: { auth: { method: 'oauth2', scope: 'mail', clientSecret: CLIENT_SECRET } } },
    });
    expect(scoped.body.imap.auth).toMatchObject({ scope: 'mail', clientSecretSet: true, clientId: 'cid' });
    expect((await storedSecret(id)).value).toEqual({ refreshToken: REFRESH_TOKEN, clientSecret: CLIENT_SECRET });
    expect(JSON.stringify(scoped.body)).not.toMatch(/must-never-leak/);
  });

  it('keeps folder positions when only the port changes, and starts afresh for another server or account', async () => {
    const { body: created } = await create(mailbox());
    const id = created.id as string;
    await db.sql`update app.mailbox_folders set uid_validity = 7, last_uid = 42 where channel_id = ${id}`;
    await json('PATCH', `/api/channels/${id}`, { as: 'admin', body: { imap: { port: 9993 } } });
    expect((await db.sql`select last_uid from app.mailbox_folders where channel_id = ${id}`)[0]!.lastUid).toBe('42');
    const moved = await json('PATCH', `/api/channels/${id}`, { as: 'admin', body: { imap: { host: '203.0.113.99' } } });
    expect(moved.body.folderStatus).toEqual([{ path: 'INBOX', lastUid: 0, lastPolledAt: null, lastError: null }]);
    const [row] = await db.sql`select uid_validity, last_uid from app.mailbox_folders where channel_id = ${id}`;
    expect(row).toEqual({ uidValidity: null, lastUid: '0' });
  });

  it('DELETE disables the mailbox (nothing is deleted) and PATCH status active turns it back on', async () => {
    const { body: created } = await create(mailbox());
    const id = created.id as string;
    const since = await broadcastsSince(db.sql);
    const res = await json('DELETE', `/api/channels/${id}`, { as: 'admin' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('disabled');
    expect((await since()).map((e) => e.event)).toEqual(['channel.disabled']);
    expect((await json('GET', `/api/channels/${id}`, { as: 'agent' })).body.status).toBe('disabled');
    expect((await db.sql`select count(*)::int as n from app.mailbox_folders where channel_id = ${id}`)[0]!.n).toBe(1);
    const back = await json('PATCH', `/api/channels/${id}`, { as: 'admin', body: { status: 'active' } });
    expect(back.body.status).toBe('active');
    expect((await json('DELETE', `/api/channels/${randomUUID()}`, { as: 'admin' })).status).toBe(404);
  });

  it('lets every member read channels but only owners and admins change them', async () => {
    const { body: created } = await create(mailbox());
    const id = created.id as string;
    for (const as of ['viewer', 'agent', 'manager'] as const) {
      expect((await json('GET', `/api/channels/${id}`, { as })).status).toBe(200);
      expect((await json('POST', '/api/channels', { as, body: mailbox() })).status).toBe(403);
      expect((await json('PATCH', `/api/channels/${id}`, { as, body: { name: 'x' } })).status).toBe(403);
      expect((await json('DELETE', `/api/channels/${id}`, { as })).status).toBe(403);
      expect((await json('POST', `/api/channels/${id}/test`, { as })).status).toBe(403);
    }
  });

  it('pages through the list', async () => {
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: { id: string }[]; nextCursor: string | null } } = await json(
        'GET',
        `/api/channels?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { as: 'viewer' },
      );
      expect(page.status).toBe(200);
      for (const c of page.body.data) ids.add(c.id);
      cursor = page.body.nextCursor;
    } while (cursor);
    const [{ n }] = (await db.sql`select count(*)::int as n from app.channels where org_id = ${SEED_ORG_ID}`) as unknown as [{ n: number }];
    expect(ids.size).toBe(n);
  });
});

describe('POST /api/channels/{id}/test', () => {
  async function dovecotChannel(password: string = USERS.ops.pass, folders = ['INBOX', 'Archive/2025']) {
    allowPrivateHosts(true);
    try {
      const res = await create(
        mailbox({ imap: { host: '127.0.0.1', port: dovecot!.port, tls: false, username: USERS.ops.user, auth: { method: 'password', password } }, folders }),
      );
      expect(res.status).toBe(201);
      return res.body.id as string;
    } finally {
      allowPrivateHosts(false);
    }
  }

  it.skipIf(!hasDovecot)('logs in to the server and lists its folders, naming configured ones it lacks', async () => {
    const id = await dovecotChannel();
    allowPrivateHosts(true);
    try {
      const res = await json('POST', `/api/channels/${id}/test`, { as: 'admin' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, folders: expect.arrayContaining(['INBOX']), missingFolders: ['Archive/2025'] });
    } finally {
      allowPrivateHosts(false);
    }
  });

  it.skipIf(!hasDovecot)('tells a refused login from a server it cannot reach', async () => {
    const wrong = await dovecotChannel('not-the-password');
    allowPrivateHosts(true);
    try {
      const auth = await json('POST', `/api/channels/${wrong}/test`, { as: 'owner' });
      expect(auth.body).toMatchObject({ ok: false, reason: 'auth' });
      expect(auth.body.error).toContain(`refused the login for ${USERS.ops.user}`);
      await db.sql`update app.channels set settings = jsonb_set(settings, '{imap,port}', '1') where id = ${wrong}`;
      const down = await json('POST', `/api/channels/${wrong}/test`, { as: 'owner' });
      expect(down.body).toMatchObject({ ok: false, reason: 'connection' });
      expect(down.body.error).toMatch(/Could not connect to the IMAP server 127\.0\.0\.1:1: connection refused/);
    } finally {
      allowPrivateHosts(false);
    }
  });

  it.skipIf(!hasDovecot)('checks the address again when connecting: a host that became private is refused', async () => {
    const id = await dovecotChannel();
    const res = await json('POST', `/api/channels/${id}/test`, { as: 'admin' });
    expect(res.body).toMatchObject({ ok: false, reason: 'refused' });
    expect(res.body.error).toMatch(/127\.0\.0\.1 is a private, loopback/);
  });
});
