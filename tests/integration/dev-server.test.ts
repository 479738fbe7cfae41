// Tried as a newcomer would: start `npm run dev` as a child process on a free port, wait for
// /api/health, take a token from `npm run token`, and list the seeded threads.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { engine } from '../helpers/database.js';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

let child: ChildProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'banxway-dev-'));
afterAll(() => {
  // npm starts tsx, which starts node: stop the whole process group.
  if (child?.pid) process.kill(-child.pid, 'SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

describe.runIf(engine === 'pglite')('npm run dev', () => {
  it('serves the seeded inbox to a token from npm run token', async () => {
    const port = await freePort();
    const env = { ...process.env, PORT: String(port), PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', PUBLIC_BASE_URL: '' };
    child = spawn('npm', ['run', 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const base = `http://127.0.0.1:${port}`;
    // A first start builds the database (initdb, migrations, seed); three test files run beside it.
    const deadline = Date.now() + 180_000;
    let health: { status: string } | undefined;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${base}/api/health`);
        if (res.ok) {
          health = (await res.json()) as { status: string };
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(health, `dev server did not become healthy:\n${output}`).toMatchObject({ status: 'ok' });
    const { stdout } = await run('npm', ['run', '--silent', 'token', '--', '--role', 'agent'], { env });
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const res = await fetch(`${base}/api/threads?limit=5`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { subject: string }[]; nextCursor: string | null };
    expect(body.data).toHaveLength(5);
    expect(body.nextCursor).toBeTruthy();
    // Loopback only by default: another interface of this machine is not served.
    const other = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (other) await expect(fetch(`http://${other.address}:${port}/api/health`)).rejects.toThrow();
    const missing = await fetch(`${base}/api/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');

    // Live updates, as the README's recipe: supabase-js on the dev server's own Realtime.
    const threadId = (body.data[0] as unknown as { id: string }).id;
    const me = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    const orgId = ((await me.json()) as { profile: { orgId: string } }).profile.orgId;
    const supabase = createClient(base, 'local', { accessToken: async () => token, realtime: { transport: WebSocket as never } });
    await supabase.realtime.setAuth();
    const events: string[] = [];
    const status = await new Promise<string>((resolve) => {
      supabase
        .channel(`org:${orgId}:thread:${threadId}`, { config: { private: true } })
        .on('broadcast', { event: '*' }, (m) => events.push(m.event))
        .subscribe((s) => resolve(s));
    });
    expect(status).toBe('SUBSCRIBED');
    const patched = await fetch(`${base}/api/threads/${threadId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ priority: 'urgent' }),
    });
    expect(patched.status).toBe(200);
    for (let i = 0; i < 200 && !events.includes('thread.updated'); i++) await new Promise((r) => setTimeout(r, 50));
    await supabase.removeAllChannels();
    expect(events).toContain('thread.updated');
  }, 240_000);
});
