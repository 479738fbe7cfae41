// The functions as Vercel built them (.vercel/output from `npm run build:vercel`), loaded on their own
// from their staged directories on the Node.js major package.json pins, configured as a deployment
// and called against real PostgreSQL: health, the inbox list with a token, a snooze whose job QStash
// would deliver with a valid signature, and the cron guard. A feature that only works from source
// fails here. The documents function reads a scanned PDF from (a local) Supabase Storage by OCR, so its
// PDF renderer, native canvas, tesseract worker, WASM core and English model must all have shipped. CI builds first and sets TEST_REQUIRE_SERVERS=1, so this never silently skips there.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Sql } from '../../lib/db/client.js';
import { migrate } from '../../lib/db/migrate.js';
import { SEED_USERS, seed } from '../../lib/dev/seed.js';
import { signAccessToken } from '../../lib/http/auth.js';
import { emptyDatabase } from '../helpers/database.js';
import { SupabaseStorage } from '../../lib/storage/index.js';
import { column, scannedCopy, textPdf } from '../helpers/documents.js';
import { CURRENT_KEY, fakeQStash, NEXT_KEY, qstashSignature } from '../helpers/qstash.js';
import { fakeSupabaseStorage, SERVICE_ROLE_KEY } from '../helpers/supabase-storage.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const outputDir = process.env.VERCEL_OUTPUT_DIR ?? join(root, '.vercel/output');
const node = join(root, 'tools/vercel/node_modules/.bin/node');
const pinnedMajor = /^(\d+)\./.exec(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node)![1]!;
const built = existsSync(join(outputDir, 'config.json')) && existsSync(node);
if (!built) {
  const why = `no Vercel build at ${outputDir} or no pinned Node.js in tools/vercel: run \`npm run build:vercel\``;
  if (process.env.TEST_REQUIRE_SERVERS === '1') throw new Error(`TEST_REQUIRE_SERVERS=1 but ${why}`);
  console.warn(`[banxway] built-function smoke test skipped: ${why}`);
}

const PUBLIC_BASE_URL = 'https://banxway-smoke.test';
const ISSUER = 'https://smoke-project.supabase.co/auth/v1';
const secrets = {
  AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
  CRON_SECRET: randomBytes(24).toString('hex'),
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
};

describe.skipIf(!built)('functions from .vercel/output', () => {
  let database: { url: string; drop(): Promise<void> };
  let sql: Sql;
  let qstash: Awaited<ReturnType<typeof fakeQStash>>;
  let storageServer: Awaited<ReturnType<typeof fakeSupabaseStorage>>;
  let server: ChildProcess;
  let base: string;
  let runtime = '';
  let stderr = '';
  const staging = mkdtempSync(join(tmpdir(), 'banxway-vercel-'));

  beforeAll(async () => {
    database = await emptyDatabase();
    sql = createPool(database.url, { max: 2, prepare: false });
    await migrate(sql);
    await seed(sql);
    qstash = await fakeQStash();
    storageServer = await fakeSupabaseStorage();
    server = spawn(node, [join(root, 'tests/helpers/vercel-output-server.mjs'), outputDir, root, staging], {
      env: {
        PATH: process.env.PATH,
        VERCEL: '1',
        VERCEL_ENV: 'production',
        LOG_LEVEL: 'warn',
        DATABASE_URL: database.url,
        PUBLIC_BASE_URL,
        AUTH_JWT_ISSUER: ISSUER,
        ...secrets,
        QSTASH_TOKEN: 'qstash-test-token',
        QSTASH_URL: qstash.url,
        QSTASH_CURRENT_SIGNING_KEY: CURRENT_KEY,
        QSTASH_NEXT_SIGNING_KEY: NEXT_KEY,
        // Storage for the documents function; tokens stay HS256 (AUTH_JWT_SECRET with an explicit issuer).
        SUPABASE_URL: storageServer.url,
        SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    base = await new Promise<string>((resolve, reject) => {
      server.once('exit', (code) => reject(new Error(`the output server exited (${code}): ${stderr}`)));
      server.stdout!.on('data', (chunk: Buffer) => {
        const m = /listening (\d+) on (v[\d.]+)/.exec(chunk.toString());
        if (!m) return;
        runtime = m[2]!;
        resolve(`http://127.0.0.1:${m[1]}`);
      });
    });
  });

  afterAll(async () => {
    server?.kill();
    await qstash?.close();
    await storageServer?.close();
    await sql?.end({ timeout: 5 });
    await database?.drop();
    rmSync(staging, { recursive: true, force: true });
  });

  const token = () => signAccessToken(SEED_USERS.agent, { secret: secrets.AUTH_JWT_SECRET, issuer: ISSUER });

  it(`runs on the pinned Node.js major (${pinnedMajor}.x) and leaves embedded-only packages out`, async () => {
    expect(runtime).toMatch(new RegExp(`^v${pinnedMajor}\\.`));
    expect((await fetch(`${base}/api/health`)).status, stderr).toBe(200);
    const vc = JSON.parse(readFileSync(join(outputDir, 'functions/api/threads/index.func/.vc-config.json'), 'utf8'));
    expect(vc.runtime).toBe(`nodejs${pinnedMajor}.x`);
    // The source is never served: the only static output is public/ (robots.txt) and the generated
    // API reference (openapi.json, docs/).
    expect(readdirSync(join(outputDir, 'static')).sort()).toEqual(['docs', 'openapi.json', 'robots.txt']);
    for (const fn of ['api/health', 'api/threads/index', 'api/jobs/[name]', 'api/jobs/documents/[name]']) {
      expect(existsSync(join(outputDir, `functions/${fn}.func/node_modules/@electric-sql`)), fn).toBe(false);
      expect(existsSync(join(outputDir, `functions/${fn}.func/lib/db/embedded.js`)), fn).toBe(false);
    }
  });

  it('health answers 200 with migrations current and the production adapters', async () => {
    const res = await fetch(`${base}/api/health`);
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', env: 'production', database: { ok: true }, migrations: { ok: true, pending: [] } });
    expect(body.adapters).toMatchObject({ database: 'postgres', jobs: 'qstash' });
  });

  it('the inbox list answers 200 with a token, 401 without', async () => {
    const res = await fetch(`${base}/api/threads?limit=5`, { headers: { authorization: `Bearer ${await token()}` } });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data.length).toBeGreaterThan(0);
    expect((await fetch(`${base}/api/threads`)).status).toBe(401);
  });

  it('a snooze publishes its job to QStash, and the signed delivery runs it', async () => {
    const auth = { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/api/threads`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ subject: `Smoke ${randomUUID()}` }),
    });
    const thread = await created.json();
    expect(created.status, JSON.stringify(thread)).toBe(201);
    // Far enough ahead that loading the PATCH function cold on a busy machine still arrives before it.
    const until = new Date(Date.now() + 5000).toISOString();
    const snoozed = await fetch(`${base}/api/threads/${thread.id}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ snoozedUntil: until }) });
    expect(snoozed.status, await snoozed.clone().text()).toBe(200);

    const [job] = await sql<{ id: string }[]>`select id from app.outbox where name = 'thread.unsnooze' and payload->>'threadId' = ${thread.id}`;
    const published = qstash.published.find((p) => JSON.parse(p.body).outboxId === job!.id);
    expect(published?.destination).toBe(`${PUBLIC_BASE_URL}/api/jobs/thread.unsnooze`);
    await new Promise((r) => setTimeout(r, Date.parse(until) - Date.now() + 200));

    const url = `${PUBLIC_BASE_URL}/api/jobs/thread.unsnooze`;
    const forged = await fetch(`${base}/api/jobs/thread.unsnooze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'upstash-signature': await qstashSignature(url, published!.body, { key: 'sig_wrong' }) },
      body: published!.body,
    });
    expect(forged.status).toBe(401);
    const delivered = await fetch(`${base}/api/jobs/thread.unsnooze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'upstash-signature': await qstashSignature(url, published!.body) },
      body: published!.body,
    });
    expect(delivered.status, stderr).toBe(200);
    expect(await delivered.json()).toEqual({ outcome: 'done' });
    const [after] = await sql<{ status: string }[]>`select status from app.threads where id = ${thread.id}`;
    expect(after!.status).toBe('open');
  });

  it('ships the OpenAPI document and the reference page as static output, routed from /api/openapi.json and /api/docs', () => {
    const document = JSON.parse(readFileSync(join(outputDir, 'static/openapi.json'), 'utf8'));
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/threads', '/api/search', '/api/documents']));
    expect(readFileSync(join(outputDir, 'static/docs/index.html'), 'utf8')).toMatch(/redoc/i);
    const config = JSON.parse(readFileSync(join(outputDir, 'config.json'), 'utf8'));
    const routes = JSON.stringify(config.routes);
    expect(routes).toContain('/openapi.json');
    expect(routes).toContain('/docs/index.html');
  });

  it('the documents function ships the OCR assets, and no other function carries them', () => {
    const files = (fn: string) => {
      const dir = join(outputDir, `functions/${fn}.func`);
      const vc = JSON.parse(readFileSync(join(dir, '.vc-config.json'), 'utf8'));
      const mapped = Object.keys(vc.filePathMap ?? {});
      return { vc, has: (path: string) => mapped.includes(path) || existsSync(join(dir, path)) };
    };
    const documents = files('api/jobs/documents/[name]');
    expect(documents.vc).toMatchObject({ memory: 2048, maxDuration: 300 });
    for (const asset of [
      'node_modules/tesseract.js/src/worker-script/node/index.js',
      'node_modules/tesseract.js-core/tesseract-core-simd-lstm.wasm',
      'node_modules/tesseract.js-core/tesseract-core-lstm.wasm',
      'node_modules/@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz',
      'node_modules/pdfjs-dist/standard_fonts/FoxitSerif.pfb',
    ]) {
      expect(documents.has(asset), asset).toBe(true);
    }
    for (const fn of ['api/jobs/[name]', 'api/threads/index', 'api/cron/jobs-sweep']) {
      expect(files(fn).has('node_modules/@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz'), fn).toBe(false);
      expect(files(fn).has('node_modules/tesseract.js-core/tesseract-core-simd-lstm.wasm'), fn).toBe(false);
    }
  });

  it('a document.read job delivered to the documents function reads a scan by OCR', async () => {
    const [org] = await sql<{ id: string }[]>`select id from app.organizations order by created_at limit 1`;
    const orgId = org!.id;
    const container = 'TGHU7382915';
    const scan = await scannedCopy(await textPdf([column(40, 60, ['DELIVERY ORDER', `Container No: ${container}`, 'Vessel: MAERSK ESSEN'])]));
    const attachmentId = randomUUID();
    const path = `org/${orgId}/attachments/${attachmentId}/do.pdf`;
    await new SupabaseStorage({ url: storageServer.url, serviceRoleKey: SERVICE_ROLE_KEY, bucket: 'attachments' }).putObject(path, scan, 'application/pdf');
    await sql`insert into app.attachments (id, org_id, filename, content_type, size_bytes, storage_path, status)
      values (${attachmentId}, ${orgId}, 'do.pdf', 'application/pdf', ${scan.length}, ${path}, 'ready')`;
    const [doc] = await sql<{ id: string }[]>`
      insert into app.documents (org_id, attachment_id, title, storage_path) values (${orgId}, ${attachmentId}, 'do.pdf', ${path}) returning id`;
    const [job] = await sql<{ id: string }[]>`
      insert into app.outbox (org_id, name, payload, max_attempts) values (${orgId}, 'document.read', ${sql.json({ documentId: doc!.id })}, 4) returning id`;
    const body = JSON.stringify({ outboxId: job!.id });
    const url = `${PUBLIC_BASE_URL}/api/jobs/documents/document.read`;
    const res = await fetch(`${base}/api/jobs/documents/document.read`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'upstash-signature': await qstashSignature(url, body) },
      body,
    });
    expect(res.status, stderr).toBe(200);
    expect(await res.json()).toEqual({ outcome: 'done' });
    const [read] = await sql<{ type: string; readStatus: string; textMethod: string; identifiers: string[] }[]>`
      select type, read_status, text_method, identifiers from app.documents where id = ${doc!.id}`;
    expect(read).toEqual({ type: 'delivery_order', readStatus: 'done', textMethod: 'ocr', identifiers: [container] });
  }, 120_000);

  it('cron routes need the cron secret', async () => {
    expect((await fetch(`${base}/api/cron/jobs-sweep`)).status).toBe(401);
    const res = await fetch(`${base}/api/cron/jobs-sweep`, { headers: { authorization: `Bearer ${secrets.CRON_SECRET}` } });
    expect(res.status, stderr).toBe(200);
  });
});
