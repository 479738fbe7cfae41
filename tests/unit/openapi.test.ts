// The API contract: the OpenAPI 3.1 document generated from the routes passes a maintained validator,
// names every method of every file under api/ (found here by walking the folder, not by the generator's
// own route table), carries the error shape, pagination, Idempotency-Key, security schemes, the outgoing
// webhooks and every realtime event the code emits, is served at /api/openapi.json and /api/docs, and a
// client generated from it by openapi-typescript type-checks against a small example (and fails one
// that misuses it). The API helper validates every answer of every test against it (tests/helpers/api.ts).
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from '@readme/openapi-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from '../../lib/dev/static.js';
import { isRealtimeEvent, REALTIME_EVENTS, realtimeEventTableMarkdown } from '../../lib/realtime-events.js';
import { openApiDocument } from '../../lib/openapi/index.js';
import type { Ctx } from '../../lib/context.js';
import { announceItem } from '../../lib/library/shared.js';
import { recordChange } from '../../lib/realtime.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
type Json = Record<string, any>;

let doc: Json;
let problems: string[];
beforeAll(async () => {
  ({ document: doc, problems } = await openApiDocument());
});

/** Every exported method of every function file under api/, by Vercel's rules, read from the source. */
function routesInApiFolder(): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('_') || name.startsWith('.')) continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) {
        const parts = relative(join(root, 'api'), full).split(sep);
        parts[parts.length - 1] = parts[parts.length - 1]!.replace(/\.ts$/, '');
        if (parts[parts.length - 1] === 'index') parts.pop();
        const path = `/api/${parts.join('/')}`.replace(/\/$/, '').replace(/\[([^\]]+)\]/g, '{$1}');
        const source = readFileSync(full, 'utf8');
        for (const m of source.matchAll(/^export (?:const|async function|function) (GET|POST|PUT|PATCH|DELETE)\b/gm)) out.push({ method: m[1]!, path });
      }
    }
  };
  walk(join(root, 'api'));
  return out;
}

describe('the OpenAPI document', () => {
  it('is complete: every handler declares its responses and authentication', () => {
    expect(problems).toEqual([]);
  });

  it('passes @readme/openapi-parser as OpenAPI 3.1', async () => {
    const result = await validate(structuredClone(doc) as never);
    const errors = result.valid ? [] : result.errors;
    expect(errors, JSON.stringify(errors, null, 2).slice(0, 4000)).toEqual([]);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('names every method of every route file under api/', () => {
    const routes = routesInApiFolder();
    expect(routes.length).toBeGreaterThan(150);
    const missing = routes.filter((r) => !doc.paths[r.path]?.[r.method.toLowerCase()]).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
    const documented = Object.entries(doc.paths as Json).flatMap(([path, item]) => Object.keys(item as Json).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('describes an operation from its route: summary, parameters, body, responses, permission', () => {
    const list = doc.paths['/api/threads'].get;
    expect(list.summary).toMatch(/thread/i);
    expect(list['x-permission']).toBe('threads.read');
    expect(list.security).toEqual([{ bearerAuth: [] }, { apiKey: [] }]);
    const names = list.parameters.map((p: Json) => p.name ?? p.$ref);
    expect(names).toEqual(expect.arrayContaining(['limit', 'cursor', '#/components/parameters/OrgId']));
    expect(list.parameters.find((p: Json) => p.name === 'limit').schema).toMatchObject({ type: 'integer', maximum: 100 });
    const page = list.responses['200'].content['application/json'].schema;
    expect(JSON.stringify(page)).toContain('nextCursor');
    expect(list.responses['401']).toEqual({ $ref: '#/components/responses/Error' });

    const create = doc.paths['/api/threads'].post;
    expect(create.parameters.map((p: Json) => p.$ref)).toContain('#/components/parameters/IdempotencyKey');
    expect(create.requestBody.content['application/json'].schema).toMatchObject({ type: 'object' });
    expect(create.responses['201'].content['application/json'].schema).toEqual({ $ref: expect.stringMatching(/^#\/components\/schemas\/Thread/) });

    const one = doc.paths['/api/threads/{id}'].get;
    expect(one.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true, schema: { format: 'uuid' } });
    expect(doc.paths['/api/threads/{id}'].delete?.responses?.['204'] ?? doc.paths['/api/actions/{id}'].delete.responses['204']).toMatchObject({
      description: expect.any(String),
    });
    // A CSV export beside the JSON, and a handler of a provider's protocol.
    expect(Object.keys(doc.paths['/api/analytics/overview'].get.responses['200'].content).sort()).toEqual(['application/json', 'text/csv']);
    expect(doc.paths['/api/cron/sla-check'].get.security).toEqual([{ cronSecret: [] }]);
    expect(doc.paths['/api/jobs/{name}'].post.security).toEqual([{ qstashSignature: [] }]);
    expect(doc.paths['/api/me'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/api/health'].get.security).toEqual([{}]);
  });

  it('carries the error shape, the security schemes, the outgoing webhooks and the realtime events', () => {
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message', 'requestId']);
    expect(doc['x-error-codes'].validation_failed).toBe(422);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'bearerAuth', 'cronSecret', 'qstashSignature']);
    const hook = doc.webhooks.workflowStep.post;
    expect(hook.parameters.map((p: Json) => p.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
    expect(hook.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/WorkflowWebhookPayload' });
    const realtime = doc['x-realtime'];
    expect(realtime.envelope).toEqual({ $ref: '#/components/schemas/RealtimeEvent' });
    expect(realtime.events['thread.updated']).toMatchObject({
      topics: ['org:{orgId}', 'org:{orgId}:thread:{threadId}'],
      data: { $ref: '#/components/schemas/Thread' },
    });
  });

  it('lists every realtime event the code emits, and emits every one it lists', () => {
    // The compiler does most of it: recordChange's `event` is RealtimeEventName (the names
    // lib/realtime-events.ts lists), so a literal, a ternary, a template or a helper's parameter that
    // can be anything else does not type-check (see refusedByTheCompiler below, checked by npm run
    // typecheck). What it cannot see is SQL: no statement may send an event but through
    // app.record_change with a name from TypeScript, and only the files named here call it directly.
    const sqlEmitters: Record<string, string[]> = {
      'lib/realtime.ts': [], // recordChange: the name is its typed parameter
      'lib/sla/check.ts': ['sla.warning', 'sla.breached'], // SLA_EVENT_NAMES, typed
    };
    const callers: string[] = [];
    const sources: Record<string, string> = {};
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (name.endsWith('.ts')) sources[relative(root, full).split(sep).join('/')] = readFileSync(full, 'utf8');
      }
    };
    walk(join(root, 'lib'));
    for (const [file, source] of Object.entries(sources)) {
      if (file.startsWith('lib/dev/')) continue; // the local Realtime server relays, it never emits
      if (/\b(?:app\.record_change|app\.emit|realtime\.send)\(|insert\s+into\s+realtime\.messages/i.test(source)) callers.push(file);
    }
    expect(callers.sort()).toEqual(Object.keys(sqlEmitters).sort());
    // Migrations: only the plumbing itself (app.record_change → app.emit → realtime.send), passing the name through.
    for (const file of readdirSync(join(root, 'supabase/migrations'))) {
      const sql = readFileSync(join(root, 'supabase/migrations', file), 'utf8').replace(/--[^\n]*/g, '');
      const calls = [...sql.matchAll(/^.*\b(?:app\.record_change|app\.emit|realtime\.send)\s*\(.*$|^.*insert\s+into\s+realtime\.messages.*$/gim)]
        .map((m) => m[0].trim())
        .filter((line) => !/^create or replace function|\bon function\b/i.test(line));
      for (const line of calls)
        expect(['perform realtime.send(payload, event, topic, true);', 'perform app.emit(t, event, payload);'], `${file}: ${line}`).toContain(line);
    }
    for (const events of Object.values(sqlEmitters)) for (const e of events) expect(isRealtimeEvent(e), e).toBe(true);

    // The other way: every listed event is sent somewhere (a literal name, or `family.${…}` with its
    // suffix as a literal in the same file), so the list never promises what never comes.
    const lib = Object.entries(sources).filter(([file]) => file !== 'lib/realtime-events.ts' && !file.startsWith('lib/dev/'));
    const sent = (name: string) => {
      const [family, suffix] = name.split('.') as [string, string];
      return lib.some(([, source]) => source.includes(`'${name}'`) || (source.includes(`\`${family}.\${`) && source.includes(`'${suffix}'`)));
    };
    expect(Object.keys(REALTIME_EVENTS).filter((name) => !sent(name))).toEqual([]);
    expect(Object.keys(REALTIME_EVENTS).length).toBeGreaterThan(90);
  });

  it('documents the realtime events in docs/realtime.md from the same list (npm run docs:realtime)', () => {
    const doc = readFileSync(join(root, 'docs/realtime.md'), 'utf8');
    expect(doc).toContain(`<!-- realtime-events:start -->\n${realtimeEventTableMarkdown()}\n<!-- realtime-events:end -->`);
    for (const name of Object.keys(REALTIME_EVENTS)) expect(realtimeEventTableMarkdown()).toContain(`\`${name}\``);
  });

  it('is served at /api/openapi.json, and the reference page at /api/docs with its bundle, all without the network', async () => {
    const json = await serveStatic(new Request('http://localhost/api/openapi.json'));
    expect(json?.headers.get('content-type')).toBe('application/json');
    expect((await json!.json()).paths['/api/threads']).toBeDefined();
    const page = await serveStatic(new Request('http://localhost/api/docs'));
    const html = await page!.text();
    expect(html).toContain('<script src="/docs/redoc.standalone.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await serveStatic(new Request('http://localhost/docs/redoc.standalone.js'));
    expect(bundle?.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle!.arrayBuffer()).byteLength).toBeGreaterThan(500_000);
    expect(await serveStatic(new Request('http://localhost/api/threads'))).toBeUndefined();
    // vercel.json: the build writes the static output, and the same two rewrites reach it.
    const vercel = JSON.parse(readFileSync(join(root, 'vercel.json'), 'utf8'));
    expect(vercel.buildCommand).toBe('npm run build:openapi');
    expect(vercel.rewrites).toEqual(
      expect.arrayContaining([
        { source: '/api/openapi.json', destination: '/openapi.json' },
        { source: '/api/docs', destination: '/docs/index.html' },
      ]),
    );
  });

  it('generates a TypeScript client with openapi-typescript that type-checks against an example, and rejects a misuse', async () => {
    const types = astToString(await openapiTS(structuredClone(doc) as never));
    const dir = mkdtempSync(join(tmpdir(), 'banxway-client-'));
    writeFileSync(join(dir, 'api.d.ts'), types);
    const example = (misuse: string) => `import type { paths, components } from './api';
type Json<P extends keyof paths, M extends keyof paths[P], S extends number> =
  paths[P][M] extends { responses: infer R } ? (S extends keyof R ? (R[S] extends { content: { 'application/json': infer B } } ? B : never) : never) : never;
type ThreadPage = Json<'/api/threads', 'get', 200>;
type NewThread = paths['/api/threads']['post']['requestBody'] extends { content: { 'application/json': infer B } } | undefined ? B : never;
type ListQuery = NonNullable<paths['/api/threads']['get']['parameters']['query']>;
export function firstSubject(page: ThreadPage): string | null {
  const thread: components['schemas']['Thread'] | undefined = page.data[0];
  return thread ? thread.subject : null;
}
export const next = (page: ThreadPage): string | null => page.nextCursor;
export const body: NewThread = { subject: 'Booking for MSKU1234565' };
export const query: ListQuery = { limit: 50 };
export function codeOf(error: components['schemas']['Error']): string { return error.error.code; }
${misuse}
`;
    const check = (file: string) => {
      const program = ts.createProgram([join(dir, file)], {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        target: ts.ScriptTarget.ES2022,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        module: ts.ModuleKind.ESNext,
      });
      return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    };
    writeFileSync(join(dir, 'good.ts'), example(''));
    expect(check('good.ts')).toEqual([]);
    writeFileSync(
      join(dir, 'bad.ts'),
      example('export const wrong: NewThread = { subject: 42 };\nexport const nope = (p: ThreadPage) => p.data[0]?.noSuchField;'),
    );
    const errors = check('bad.ts');
    expect(errors.join('\n')).toMatch(/number.*not assignable to type 'string'/);
    expect(errors.join('\n')).toMatch(/noSuchField/);
  });
});

// Never called: `npm run typecheck` fails if any of these compiles, i.e. if recordChange or a helper
// that announces a family ever accepts a name lib/realtime-events.ts does not list.
export function refusedByTheCompiler(ctx: Ctx, assigning: boolean, status: 'ready' | 'lost') {
  // @ts-expect-error -- a name the list does not have
  void recordChange(ctx, { event: 'thread.vanished', topics: [], data: {} });
  // @ts-expect-error -- a ternary with one unlisted branch
  void recordChange(ctx, { event: assigning ? 'thread.assigned' : 'thread.lost', topics: [], data: {} });
  // @ts-expect-error -- a template whose every value must be listed
  void recordChange(ctx, { event: `attachment.${status}`, topics: [], data: {} });
  // @ts-expect-error -- any string
  void recordChange(ctx, { event: String(status), topics: [], data: {} });
  // @ts-expect-error -- a helper takes only its own family's listed names
  void announceItem(ctx, { plural: 'macros', singular: 'macro', entityType: 'macro' }, 'macro.vanished', { id: '', ownerId: null }, {});
  // @ts-expect-error -- nor another family's
  void announceItem(ctx, { plural: 'macros', singular: 'macro', entityType: 'macro' }, 'thread.updated', { id: '', ownerId: null }, {});
}
