// A real IMAP server for tests: Dovecot, unprivileged on a free loopback port in a temporary directory
// (the configuration of shared/design/local-services.md), with two password users and XOAUTH2 logins
// checked against a local token introspection endpoint. One server per test file. Without the
// dovecot binary the tests that need it skip, unless TEST_DOVECOT=1 (CI), which makes that a failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { ImapFlow } from 'imapflow';

export const USERS = {
  ops: { user: 'ops@example.test', pass: 'secret' },
  second: { user: 'second@example.test', pass: 'second-secret' },
} as const;
export type DovecotUser = keyof typeof USERS;

function findDovecot(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'dovecot');
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

const binary = findDovecot();
const required = process.env.TEST_DOVECOT === '1';

/** Whether Dovecot tests run here; when false they skip (with the reason printed once). */
export const hasDovecot = binary !== null;
if (!binary) {
  if (required) throw new Error('TEST_DOVECOT=1 but the dovecot binary is not installed (apt-get install -y dovecot-imapd)');
  console.warn('[banxway] dovecot is not installed: the IMAP tests are skipped (apt-get install -y dovecot-imapd, or set TEST_DOVECOT=1 to require them).');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.setTimeout(1000, () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export interface Dovecot {
  host: string;
  port: number;
  dir: string;
  /** A connected, logged-in client (close it with logout()). */
  client(user?: DovecotUser): Promise<ImapFlow>;
  /** APPENDs a message (optionally with flags) and returns its UID. */
  append(raw: string | Buffer, options?: { folder?: string; user?: DovecotUser; flags?: string[] }): Promise<number>;
  createFolder(path: string, user?: DovecotUser): Promise<void>;
  deleteFolder(path: string, user?: DovecotUser): Promise<void>;
  uidValidity(path: string, user?: DovecotUser): Promise<bigint>;
  /** The flags of every message in a folder, by UID (read-only: EXAMINE, then FETCH FLAGS). */
  flags(path: string, user?: DovecotUser): Promise<Map<number, string[]>>;
  log(): string;
  stop(): Promise<void>;
}

export interface DovecotOptions {
  /** RFC 7662 endpoint that validates XOAUTH2 access tokens (tests/helpers/oauth-server.ts). */
  introspectionUrl?: string;
}

function config(dir: string, port: number, options: DovecotOptions): string {
  const root = process.getuid?.() === 0;
  const me = userInfo();
  const internalUser = root ? 'dovecot' : me.username;
  const loginUser = root ? 'dovenull' : me.username;
  const userdb = root ? 'uid=nobody gid=nogroup' : `uid=${me.uid} gid=${me.gid}`;
  const oauth = options.introspectionUrl
    ? `
passdb {
  driver = oauth2
  mechanisms = xoauth2
  args = ${dir}/oauth2.conf.ext
}`
    : '';
  return `protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/run
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login${options.introspectionUrl ? ' xoauth2' : ''}
auth_failure_delay = 0
mail_location = maildir:${dir}/mail/%u
default_internal_user = ${internalUser}
default_login_user = ${loginUser}
first_valid_uid = 1
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u ${dir}/users
}${oauth}
userdb {
  driver = static
  args = ${userdb} home=${dir}/mail/%u
}
protocol imap {
  mail_max_userip_connections = 200
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
  # No growing delay after failed logins from one address: the tests fail logins on purpose.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

/** Starts Dovecot for one test file. Call only when hasDovecot. */
export async function startDovecot(options: DovecotOptions = {}): Promise<Dovecot> {
  if (!binary) throw new Error('dovecot is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'banxway-dovecot-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'run'));
  mkdirSync(join(dir, 'mail'));
  chmodSync(join(dir, 'mail'), 0o777);
  writeFileSync(
    join(dir, 'users'),
    Object.values(USERS)
      .map((u) => `${u.user}:{PLAIN}${u.pass}\n`)
      .join(''),
  );
  if (options.introspectionUrl) {
    writeFileSync(
      join(dir, 'oauth2.conf.ext'),
      [
        'introspection_mode = post',
        `introspection_url = ${options.introspectionUrl}`,
        'force_introspection = yes',
        'username_attribute = username',
        'active_attribute = active',
        'active_value = true',
        'timeout_msecs = 5000',
        '',
      ].join('\n'),
    );
  }
  let port = 0;
  let started = false;
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    port = await freePort();
    writeFileSync(join(dir, 'dovecot.conf'), config(dir, port, options));
    // Output to a file: the daemon keeps inherited pipes open, which would make spawnSync wait forever.
    const out = openSync(join(dir, 'start.log'), 'w');
    const run = spawnSync(binary, ['-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', out, out] });
    closeSync(out);
    if (run.status !== 0) {
      const message = readFileSync(join(dir, 'start.log'), 'utf8');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`dovecot did not start: ${message}`);
    }
    started = await waitForPort(port, 10_000);
    if (!started) stopMaster(dir);
  }
  if (!started) throw new Error(`dovecot did not listen: ${readLog(dir)}`);
  // Should the test process end without afterAll (a crash, a timeout), the server still goes.
  const onExit = () => stopMaster(dir, false);
  process.once('exit', onExit);

  const client = async (user: DovecotUser = 'ops') => {
    const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: USERS[user], logger: false, disableAutoIdle: true });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const withClient = async <T>(user: DovecotUser, fn: (c: ImapFlow) => Promise<T>): Promise<T> => {
    const c = await client(user);
    try {
      return await fn(c);
    } finally {
      await c.logout().catch(() => c.close());
    }
  };

  return {
    host: '127.0.0.1',
    port,
    dir,
    client,
    append: (raw, o = {}) =>
      withClient(o.user ?? 'ops', async (c) => {
        const res = await c.append(o.folder ?? 'INBOX', typeof raw === 'string' ? Buffer.from(raw) : raw, o.flags ?? []);
        if (!res || !res.uid) throw new Error('APPEND returned no UID');
        return res.uid;
      }),
    createFolder: (path, user = 'ops') => withClient(user, async (c) => void (await c.mailboxCreate(path))),
    deleteFolder: (path, user = 'ops') => withClient(user, async (c) => void (await c.mailboxDelete(path))),
    uidValidity: (path, user = 'ops') =>
      withClient(user, async (c) => {
        const status = await c.status(path, { uidValidity: true });
        if (!status || status.uidValidity === undefined) throw new Error(`no UIDVALIDITY for ${path}`);
        return status.uidValidity;
      }),
    flags: (path, user = 'ops') =>
      withClient(user, async (c) => {
        await c.mailboxOpen(path, { readOnly: true });
        const out = new Map<number, string[]>();
        for (const m of await c.fetchAll('1:*', { uid: true, flags: true }, { uid: true })) out.set(m.uid, [...(m.flags ?? [])].sort());
        return out;
      }),
    log: () => readLog(dir),
    async stop() {
      process.off('exit', onExit);
      stopMaster(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'dovecot.log'), 'utf8');
  } catch {
    return '';
  }
}

function stopMaster(dir: string, wait = true): void {
  const pidFile = join(dir, 'run', 'master.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  // Wait (bounded) for the master to go, so its children and port are released.
  for (let i = 0; wait && i < 100; i++) {
    try {
      process.kill(pid, 0);
      // A zombie (exited, not yet reaped by whoever adopted the daemon) is gone too.
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return;
    } catch {
      return;
    }
    execFileSync('sleep', ['0.05']);
  }
}
