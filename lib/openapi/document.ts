// The API's OpenAPI 3.1 document, generated from what the routes themselves validate and declare (their
// zod params, query, body and response schemas in their handlers' meta, lib/http/responses.ts) and from
// the one-line comment above each export (`// GET /api/threads – list threads`): nothing written twice.
// Requests are rendered as zod's input form, responses as the wire form the routes declare (output).
// Entities carrying `.meta({ id })` become named components.
import * as z from 'zod';
import { ERROR_STATUS, errorWire } from '../http/errors.js';
import { can, ROLES, type Action } from '../http/permissions.js';
import { isAlternatives, isRawBody, type Auth, type HandlerMeta } from '../http/responses.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One method of one route file, as the route table and the module give it. */
export interface OperationSource {
  method: HttpMethod;
  /** The route's URL pattern, e.g. /api/threads/[id]/assign. */
  pattern: string;
  /** The path parameters, in order. */
  pathParams: string[];
  meta: HandlerMeta | undefined;
  /** The comment lines above the export, without `//`; the first names the endpoint. */
  comment: string[];
}

/** Extra sections that do not come from the routes (outgoing webhooks, realtime events). */
export interface DocumentExtras {
  webhooks?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
  version?: string;
}

type Json = Record<string, unknown>;

export const openApiPath = (pattern: string) => pattern.replace(/\[([A-Za-z0-9_]+)\]/g, '{$1}');

/**
 * Named schemas shared across the document: each conversion's `$defs` are hoisted into
 * components.schemas; a name already taken by a different schema (an entity's input form beside its
 * wire form) gets a suffix, and that conversion's references follow it.
 */
class Components {
  readonly schemas: Record<string, Json> = {};
  private readonly text = new Map<string, string>();

  constructor() {
    // errorWire carries `.meta({ id: 'Error' })`: converting it registers components.schemas.Error.
    this.convert(errorWire, 'output');
  }

  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const json = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any', cycles: 'ref', reused: 'inline' }) as Json;
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, Json>;
    delete json.$defs;
    const renamed = new Map<string, string>();
    for (const [name, def] of Object.entries(defs)) {
      const body = JSON.stringify(def);
      let target = name;
      for (let n = 1; this.text.has(target) && this.text.get(target) !== body; n++) {
        target = `${name}${io === 'input' ? 'Input' : ''}${n > 1 || io === 'output' ? n : ''}`;
      }
      renamed.set(name, target);
    }
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (node && typeof node === 'object') {
        const out: Json = {};
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')) {
            const name = v.slice('#/$defs/'.length);
            out[k] = `#/components/schemas/${renamed.get(name) ?? name}`;
          } else out[k] = rewrite(v);
        }
        return out;
      }
      return node;
    };
    for (const [name, def] of Object.entries(defs)) {
      const target = renamed.get(name)!;
      if (!this.text.has(target)) {
        const rewritten = rewrite(def) as Json;
        this.schemas[target] = rewritten;
        this.text.set(target, JSON.stringify(def));
      }
    }
    return rewrite(json) as Json;
  }
}

const errorRef = { $ref: '#/components/responses/Error' };

/** The comment's first line without its `METHOD /path –` prefix. */
function summaryOf(source: OperationSource): { summary?: string; description?: string } {
  const [first, ...rest] = source.comment;
  if (!first) return {};
  const summary = first.replace(/^[A-Z]+\s+\S+\s*[–—-]\s*/, '').trim();
  const description = rest.join(' ').trim();
  return { summary: summary.length > 0 ? summary : first, ...(description ? { description } : {}) };
}

const SECURITY: Record<Auth, Json[]> = {
  member: [{ bearerAuth: [] }, { apiKey: [] }],
  user: [{ bearerAuth: [] }],
  cron: [{ cronSecret: [] }],
  qstash: [{ qstashSignature: [] }],
  signature: [{}],
  public: [{}],
};

/** Splits an object schema into one parameter per property; anything else stays one exploded parameter. */
function parametersOf(json: Json, where: 'path' | 'query', pathParams: string[], skip: Set<string>): Json[] {
  const properties = json.properties as Record<string, Json> | undefined;
  const required = new Set((json.required as string[] | undefined) ?? []);
  if (!properties) return [];
  return Object.entries(properties)
    .filter(([name]) => !skip.has(name))
    .map(([name, schema]) => {
      const inPath = where === 'path' && pathParams.includes(name);
      const { description, ...rest } = schema;
      return {
        name,
        in: inPath ? 'path' : 'query',
        required: inPath || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
        // A repeated key arrives as an array (searchObject): lists are sent as name=a&name=b.
        ...(rest.type === 'array' ? { style: 'form', explode: true } : {}),
      };
    });
}

function rolesFor(action: Action): string[] {
  return ROLES.filter((role) => can(role, action));
}

function operationId(method: string, pattern: string): string {
  const words = pattern
    .replace(/^\/api\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((part) => {
      const param = /^\[(.+)\]$/.exec(part);
      const word = param ? `by-${param[1]}` : part;
      return word.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''));
    });
  const joined = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return `${method.toLowerCase()}${joined || 'Root'}`;
}

const tagOf = (pattern: string) => pattern.split('/')[2] ?? 'api';

/** The document, and what keeps it from being complete (a handler that declares no responses ...). */
export function buildDocument(sources: OperationSource[], extras: DocumentExtras = {}): { document: Json; problems: string[] } {
  const components = new Components();
  const problems: string[] = [];
  const paths: Record<string, Record<string, Json>> = {};

  for (const source of [...sources].sort((a, b) => a.pattern.localeCompare(b.pattern) || a.method.localeCompare(b.method))) {
    const where = `${source.method} ${source.pattern}`;
    const meta = source.meta;
    if (!meta?.responses) problems.push(`${where}: declares no response schemas`);
    if (!meta?.auth) problems.push(`${where}: declares no authentication (route(), userRoute(), cronRoute() or describe())`);
    const auth = meta?.auth ?? 'public';

    const parameters: Json[] = [];
    const seen = new Set<string>();
    if (meta?.params) {
      for (const p of parametersOf(components.convert(meta.params, 'input'), 'path', source.pathParams, seen)) {
        parameters.push(p);
        seen.add(p.name as string);
      }
    }
    for (const name of source.pathParams) {
      if (!seen.has(name)) {
        parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
        seen.add(name);
      }
    }
    if (meta?.query) {
      const json = components.convert(meta.query, 'input');
      if (!json.properties) problems.push(`${where}: the query schema is not an object`);
      for (const p of parametersOf(json, 'query', [], seen)) {
        parameters.push(p);
        seen.add(p.name as string);
      }
    }
    if (auth === 'member') parameters.push({ $ref: '#/components/parameters/OrgId' });
    const idempotent = auth === 'member' && (meta?.idempotent ?? source.method === 'POST');
    if (idempotent) parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });

    let requestBody: Json | undefined;
    if (meta?.body) {
      if (isRawBody(meta.body)) {
        requestBody = { required: true, description: meta.body.description, content: { [meta.body.mediaType]: { schema: {} } } };
      } else {
        // An empty body is read as {} (route()), so a body whose fields are all optional may be left out.
        const optional = meta.body.safeParse({}).success;
        requestBody = { required: !optional, content: { 'application/json': { schema: components.convert(meta.body, 'input') } } };
      }
    }

    const responses: Record<string, Json> = {};
    for (const [status, schema] of Object.entries(meta?.responses ?? {})) {
      const description = Number(status) < 300 ? 'Success' : Number(status) < 400 ? 'Redirect' : 'Error';
      if (schema === undefined) continue;
      if (schema === null) {
        responses[status] = { description: `${description} (no body)` };
        continue;
      }
      const content: Record<string, Json> = {};
      const notes: string[] = [];
      for (const body of isAlternatives(schema) ? schema.alternatives : [schema]) {
        if (isRawBody(body)) {
          content[body.mediaType] = { schema: {} };
          notes.push(body.description);
        } else content['application/json'] = { schema: components.convert(body, 'output') };
      }
      responses[status] = { description: notes.length ? `${description}: ${notes.join('; ')}` : description, content };
    }
    const errors: number[] = [];
    if (auth === 'member' || auth === 'user' || auth === 'cron' || auth === 'qstash') errors.push(401);
    if (auth === 'member') errors.push(403);
    if (source.pathParams.length > 0) errors.push(404);
    if (meta?.params || meta?.query || meta?.body) errors.push(422);
    if (auth === 'member' || auth === 'user') errors.push(429);
    for (const status of errors) responses[String(status)] ??= errorRef;
    responses.default = errorRef;

    const operation: Json = {
      operationId: operationId(source.method, source.pattern),
      ...summaryOf(source),
      tags: [tagOf(source.pattern)],
      security: SECURITY[auth],
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
      ...(meta?.action ? { 'x-permission': meta.action, 'x-roles': rolesFor(meta.action) } : {}),
      ...(meta?.authNote ? { 'x-authentication': meta.authNote } : {}),
    };
    (paths[openApiPath(source.pattern)] ??= {})[source.method.toLowerCase()] = operation;
  }

  const document: Json = {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Banxway API',
      version: extras.version ?? '0.1.0',
      summary: 'The operations inbox for freight forwarders: threads, messages, customers, shipments, automations.',
      description: DESCRIPTION,
    },
    servers: [{ url: '/', description: 'This deployment' }],
    tags: [...new Set(sources.map((s) => tagOf(s.pattern)))].sort().map((name) => ({ name })),
    paths,
    ...(extras.webhooks ? { webhooks: extras.webhooks } : {}),
    components: {
      schemas: components.schemas,
      responses: {
        Error: {
          description: 'The one error shape: `{ error: { code, message, details?, requestId } }`; `details.issues` names each bad field.',
          headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } },
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
      headers: {
        RequestId: { description: 'The request id (the same as `error.requestId`); our logs carry it.', schema: { type: 'string' } },
      },
      parameters: {
        OrgId: {
          name: 'X-Org-Id',
          in: 'header',
          required: false,
          description: 'The organization to act in; required when the caller belongs to several. An API key acts in its own.',
          schema: { type: 'string', format: 'uuid' },
        },
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Makes a retry safe: the first answer is stored for 24 hours and replayed (with `Idempotent-Replayed: true`) for the same key and request; the same key with another request is a 422, and one still in progress a 409.',
          schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
        },
      },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Supabase Auth access token of a member.' },
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'bx_live_…', description: "An organization's API key, limited by its role and scopes." },
        cronSecret: { type: 'http', scheme: 'bearer', description: 'Vercel Cron: `Authorization: Bearer <CRON_SECRET>`.' },
        qstashSignature: { type: 'apiKey', in: 'header', name: 'Upstash-Signature', description: "QStash's signature (a JWT) over the raw body." },
      },
    },
    'x-error-codes': ERROR_STATUS,
    ...extras.extensions,
  };
  return { document, problems };
}

const DESCRIPTION = [
  'Generated from the routes themselves: the zod schemas each route validates its path, query and body with, and the wire schemas it declares per status.',
  '',
  "**Authentication**: `Authorization: Bearer <token>`, a member's Supabase access token or an organization's API key (`bx_live_…`). A member of several organizations names one in `X-Org-Id`.",
  '',
  '**Errors** share one shape, `{ error: { code, message, details?, requestId } }`; a 422 names each bad field in `details.issues[].path` (`body.email`, `query.limit`). `x-error-codes` maps each code to its status.',
  '',
  '**Pagination**: lists take `limit` (at most 100) and an opaque `cursor`, and answer `{ data, nextCursor }`; pass `nextCursor` back as `cursor` until it is null. Lists that sync also take `updatedSince` and answer `deleted` and `syncCursor`.',
  '',
  '**Idempotency**: POSTs (and the routes that say so) honour `Idempotency-Key`.',
  '',
  '**Outgoing webhooks** (the `webhooks` section) are signed in the Standard Webhooks format. **Realtime events** (`x-realtime`) arrive over Supabase Realtime broadcast on the topics listed there.',
].join('\n');
