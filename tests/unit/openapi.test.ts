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
import { REALTIME_EVENTS } from '../../lib/realtime-events.js';
import { openApiDocument } from '../../lib/openapi/index.js';

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

  it('lists every realtime event the code emits', () => {
    const emitted = new Set<string>();
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) {
          if (name !== 'dev') walk(full);
          continue;
        }
        if (!name.endsWith('.ts')) continue;
        const source = readFileSync(full, 'utf8');
        for (const m of source.matchAll(/\bevent: '([a-z_]+\.[a-z_]+)'/g)) emitted.add(m[1]!);
        for (const m of source.matchAll(/\b(?:announce[A-Za-z]*|recordChange)\(\s*ctx,\s*'([a-z_]+\.[a-z_]+)'/g)) emitted.add(m[1]!);
      }
    };
    walk(join(root, 'lib'));
    // Workflow triggers share the `event:` key but are not broadcasts.
    const triggers = ['message.received', 'message.sent', 'sla.warning', 'sla.breached', 'action.overdue'];
    const missing = [...emitted].filter((e) => !REALTIME_EVENTS[e] && !triggers.includes(e));
    expect(missing).toEqual([]);
    expect(emitted.size).toBeGreaterThan(40);
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
