// The whole API contract: the operations from api/ (lib/openapi/collect.ts, document.ts), the outgoing
// webhooks (Standard Webhooks) and the realtime events (`x-realtime`), and the static output that
// serves it: /openapi.json and the reference page /docs/ (Redoc's standalone bundle, no network),
// written to public/ by `npm run build:openapi` (Vercel's build command) and served live by the dev
// server; vercel.json rewrites /api/openapi.json and /api/docs to them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as z from 'zod';
import { realtimeEnvelopeWire, REALTIME_EVENTS, TOPIC_PATTERNS } from '../realtime-events.js';
import { workflowWebhookPayloadWire } from '../webhooks/wire.js';
import { collectOperations } from './collect.js';
import { buildDocument } from './document.js';

type Json = Record<string, unknown>;

/** A schema for the extras, its named parts hoisted as the routes' are (ids are unique across the API). */
function schemaOf(schema: z.ZodType, components: Record<string, Json>): Json {
  const json = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Json;
  delete json.$schema;
  const text = JSON.stringify(json).replaceAll('"#/$defs/', '"#/components/schemas/');
  const out = JSON.parse(text) as Json;
  for (const [name, def] of Object.entries((out.$defs ?? {}) as Record<string, Json>)) components[name] ??= def;
  delete out.$defs;
  return out;
}

const signatureHeaders = [
  {
    name: 'webhook-id',
    in: 'header',
    required: true,
    description: 'The delivery: the same on every retry, so a receiver drops repeats.',
    schema: { type: 'string' },
  },
  { name: 'webhook-timestamp', in: 'header', required: true, description: 'Unix seconds when it was signed.', schema: { type: 'string' } },
  {
    name: 'webhook-signature',
    in: 'header',
    required: true,
    description:
      "`v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>` with the endpoint's `whsec_` secret; two signatures, space-separated, while a rotated-out secret still signs.",
    schema: { type: 'string' },
  },
];

export async function openApiDocument(): Promise<{ document: Json; problems: string[] }> {
  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const extraSchemas: Record<string, Json> = {};
  const webhookPayload = schemaOf(workflowWebhookPayloadWire, extraSchemas);
  const envelope = schemaOf(realtimeEnvelopeWire, extraSchemas);
  const built = buildDocument(await collectOperations(), {
    version,
    webhooks: {
      workflowStep: {
        post: {
          operationId: 'workflowStepWebhook',
          summary: "A workflow's webhook step, POSTed to the organization's endpoint (/api/webhook-endpoints)",
          description:
            'Signed in the Standard Webhooks format. Any 2xx is delivered; anything else is retried with backoff, then the delivery fails (its log: GET /api/webhook-endpoints/{id}/deliveries).',
          parameters: signatureHeaders,
          requestBody: { required: true, content: { 'application/json': { schema: webhookPayload } } },
          responses: { '2XX': { description: 'Delivered' }, default: { description: 'Retried later' } },
        },
      },
    },
    extensions: {
      'x-realtime': {
        description:
          "Changes are broadcast through Supabase Realtime (Broadcast) in the same transaction as the change. Subscribe to a private channel on a topic (a member's token authorises only its organization's topics and its own user topic); each message's payload is the envelope, its `event` one of `events`.",
        topics: TOPIC_PATTERNS,
        envelope,
        events: Object.fromEntries(
          Object.entries(REALTIME_EVENTS)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, e]) => [
              name,
              {
                topics: e.topics.map((t) => TOPIC_PATTERNS[t]),
                description: e.data,
                ...(e.entity ? { data: { $ref: `#/components/schemas/${e.entity}` } } : {}),
              },
            ]),
        ),
      },
    },
  });
  const schemas = (built.document.components as { schemas: Record<string, Json> }).schemas;
  for (const [name, def] of Object.entries(extraSchemas)) schemas[name] ??= def;
  for (const [name, e] of Object.entries(REALTIME_EVENTS)) {
    if (e.entity && !schemas[e.entity]) built.problems.push(`realtime event ${name}: no schema named ${e.entity}`);
  }
  return built;
}

/** The reference page: Redoc's standalone bundle, served beside it, rendering /api/openapi.json. */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'">
<title>Banxway API reference</title>
<!-- Everything comes from this deployment: the policy above refuses anything else (Redoc's footer badge would load from a CDN). -->
<style>body { margin: 0; font-family: system-ui, sans-serif; } .menu-content a[href*="redocly.com"] { display: none; }</style>
</head>
<body>
<div id="redoc"></div>
<script src="/docs/redoc.standalone.js"></script>
<script>
Redoc.init('/api/openapi.json', { hideDownloadButton: false, expandResponses: '200,201', jsonSampleExpandLevel: 2 }, document.getElementById('redoc'));
</script>
</body>
</html>
`;

/** Where Redoc's standalone bundle is (a dependency, copied next to the page). */
export function redocBundlePath(): string {
  return createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
}

/** The static output, by URL path: what the build writes under public/ and the dev server serves. */
export const STATIC_FILES = {
  '/openapi.json': { file: 'openapi.json', type: 'application/json' },
  '/docs/index.html': { file: 'docs/index.html', type: 'text/html; charset=utf-8' },
  '/docs/redoc.standalone.js': { file: 'docs/redoc.standalone.js', type: 'text/javascript; charset=utf-8' },
} as const;
