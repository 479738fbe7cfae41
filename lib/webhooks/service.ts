// Outgoing webhook endpoints of an organization (workflows' `webhook` step posts to them): create with
// a `whsec_…` secret (shown once), rotate with an overlap (the previous secret keeps signing beside the
// new one for ROTATION_OVERLAP_HOURS, so a receiver can switch without missing a delivery), disable,
// and each endpoint's delivery log. Every URL passes the private-network guard when saved and again
// when delivered (lib/channels/net-guard.ts). Deliveries are signed in the Standard Webhooks format
// (lib/webhooks/deliver.ts).
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { HostRefusedError, resolvePublicHost } from '../channels/net-guard.js';
import type { Ctx } from '../context.js';
import { sealSecret, type SealedSecret } from '../crypto/secrets.js';
import { invalid, notFound } from '../errors.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';
import { decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { recordChange, topics, type EventsOf } from '../realtime.js';
import { now } from '../time.js';

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_HOURS = 24;

const url = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2000)
  .refine((u) => {
    const p = new URL(u);
    return !p.username && !p.password;
  }, 'must not carry credentials');

export const endpointCreate = z.strictObject({ url, description: z.string().trim().max(500).optional() });
export const endpointUpdate = z
  .strictObject({ url, description: z.string().trim().max(500).nullable(), enabled: z.boolean() })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');
export const endpointListQuery = z.object(pageQuery);
export const deliveryListQuery = z.object({ ...pageQuery, status: z.enum(['pending', 'delivered', 'failed']).optional() });

export interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  enabled: boolean;
  previousSecretExpiresAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const columns = (sql: Ctx['sql']) => sql`
  e.id, e.url, e.description, e.enabled, case when e.previous_expires_at > now() then e.previous_expires_at end as previous_secret_expires_at,
  e.created_by, e.created_at, e.updated_at`;

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** The URL's host must be public (unless ALLOW_PRIVATE_NETWORK_HOSTS): a 422 naming the field otherwise. */
async function checkUrl(value: string, path: string) {
  try {
    await resolvePublicHost(new URL(value).hostname);
  } catch (error) {
    if (error instanceof HostRefusedError) throw invalid(path, error.message);
    throw error;
  }
}

export async function listEndpoints(ctx: Ctx, q: z.infer<typeof endpointListQuery>) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, z.tuple([z.iso.datetime({ offset: true }), z.uuid()]));
  const rows = await sql<(Endpoint & { sortAt: string })[]>`
    select ${columns(sql)}, ${exactInstant(sql, 'e.created_at', 'sort_at')} from app.webhook_endpoints e
    where e.org_id = ${ctx.orgId}
      ${after ? sql`and (e.created_at, e.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by e.created_at desc, e.id desc limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  return { ...page, data: page.data.map(({ sortAt: _s, ...e }) => e) };
}

export async function getEndpoint(ctx: Ctx, id: string): Promise<Endpoint> {
  const [row] = await ctx.sql<Endpoint[]>`select ${columns(ctx.sql)} from app.webhook_endpoints e where e.id = ${id} and e.org_id = ${ctx.orgId}`;
  if (!row) throw notFound('Webhook endpoint');
  return row;
}

async function announce(ctx: Ctx, event: EventsOf<'webhook_endpoint'>, id: string, data: unknown) {
  await recordChange(ctx, { event, topics: [topics.org(ctx.orgId)], data, audit: { entityType: 'webhook_endpoint', entityId: id } });
}

/** A new endpoint and its secret (the only time the secret is shown). */
export async function createEndpoint(ctx: Ctx, input: z.infer<typeof endpointCreate>) {
  await checkUrl(input.url, 'body.url');
  const secret = newSecret();
  const [row] = await ctx.sql<{ id: string }[]>`
    insert into app.webhook_endpoints (org_id, url, description, secret, created_by)
    values (${ctx.orgId}, ${input.url}, ${input.description ?? null}, ${ctx.sql.json(sealSecret(secret, ctx.orgId) as never)}, ${ctx.userId})
    returning id`;
  const endpoint = await getEndpoint(ctx, row!.id);
  await announce(ctx, 'webhook_endpoint.created', endpoint.id, endpoint);
  return { ...endpoint, secret };
}

export async function updateEndpoint(ctx: Ctx, id: string, input: z.infer<typeof endpointUpdate>) {
  await getEndpoint(ctx, id);
  if (input.url) await checkUrl(input.url, 'body.url');
  await ctx.sql`update app.webhook_endpoints set ${ctx.sql(input as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  const endpoint = await getEndpoint(ctx, id);
  await announce(ctx, 'webhook_endpoint.updated', id, endpoint);
  return endpoint;
}

export async function deleteEndpoint(ctx: Ctx, id: string) {
  await getEndpoint(ctx, id);
  await ctx.sql`delete from app.webhook_endpoints where id = ${id} and org_id = ${ctx.orgId}`;
  await announce(ctx, 'webhook_endpoint.deleted', id, { id });
  return null;
}

/** A new secret; the current one keeps signing beside it for ROTATION_OVERLAP_HOURS. */
export async function rotateSecret(ctx: Ctx, id: string) {
  await getEndpoint(ctx, id);
  const secret = newSecret();
  const until = new Date(now().getTime() + ROTATION_OVERLAP_HOURS * 3_600_000);
  await ctx.sql`
    update app.webhook_endpoints set previous_secret = secret, previous_expires_at = ${until},
      secret = ${ctx.sql.json(sealSecret(secret, ctx.orgId) as never)}
    where id = ${id} and org_id = ${ctx.orgId}`;
  const endpoint = await getEndpoint(ctx, id);
  await announce(ctx, 'webhook_endpoint.updated', id, endpoint);
  return { ...endpoint, secret, previousSecretExpiresAt: until };
}

/** The secrets that sign a delivery now: the current one, and the previous one during its overlap. */
export async function signingSecrets(ctx: Ctx, id: string, at: Date): Promise<{ url: string; enabled: boolean; secrets: SealedSecret[] } | undefined> {
  const [row] = await ctx.sql<{ url: string; enabled: boolean; secret: SealedSecret; previousSecret: SealedSecret | null; previousExpiresAt: Date | null }[]>`
    select url, enabled, secret, previous_secret, previous_expires_at from app.webhook_endpoints where id = ${id} and org_id = ${ctx.orgId}`;
  if (!row) return undefined;
  const secrets = [row.secret];
  if (row.previousSecret && row.previousExpiresAt && row.previousExpiresAt > at) secrets.push(row.previousSecret);
  return { url: row.url, enabled: row.enabled, secrets };
}

/**
 * Queues a delivery to an endpoint of the organization, once per webhook-id (a second call with the
 * same id returns the first delivery). A disabled or unknown endpoint is a 422 for the step.
 */
export async function queueDelivery(ctx: Ctx, endpointId: string, webhookId: string, event: string, data: unknown): Promise<string> {
  const [endpoint] = await ctx.sql<{ enabled: boolean }[]>`select enabled from app.webhook_endpoints where id = ${endpointId} and org_id = ${ctx.orgId}`;
  if (!endpoint) throw invalid('step.endpointId', 'is not a webhook endpoint of this organization');
  if (!endpoint.enabled) throw invalid('step.endpointId', 'is disabled');
  const at = now();
  const payload = { type: event, timestamp: at.toISOString(), data };
  const [row] = await ctx.sql<{ id: string }[]>`
    with ins as (
      insert into app.webhook_deliveries (org_id, endpoint_id, webhook_id, event, payload, created_at)
      values (${ctx.orgId}, ${endpointId}, ${webhookId}, ${event}, ${ctx.sql.json(payload as never)}, ${at})
      on conflict (endpoint_id, webhook_id) do nothing returning id)
    select id from ins union all select id from app.webhook_deliveries where endpoint_id = ${endpointId} and webhook_id = ${webhookId}
    limit 1`;
  await enqueue(ctx, jobSpecs.webhookDeliver, { deliveryId: row!.id }, { dedupeKey: `webhook.deliver:${row!.id}` });
  return row!.id;
}

export async function listDeliveries(ctx: Ctx, endpointId: string, q: z.infer<typeof deliveryListQuery>) {
  await getEndpoint(ctx, endpointId);
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, z.tuple([z.iso.datetime({ offset: true }), z.uuid()]));
  const rows = await sql<(Record<string, unknown> & { id: string; sortAt: string })[]>`
    select d.id, d.endpoint_id, d.webhook_id, d.event, d.payload, d.status, d.attempts, d.response_status, d.error, d.created_at,
      d.last_attempt_at, d.delivered_at, ${exactInstant(sql, 'd.created_at', 'sort_at')}
    from app.webhook_deliveries d
    where d.org_id = ${ctx.orgId} and d.endpoint_id = ${endpointId}
      ${q.status ? sql`and d.status = ${q.status}` : sql``}
      ${after ? sql`and (d.created_at, d.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by d.created_at desc, d.id desc limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  return { ...page, data: page.data.map(({ sortAt: _s, ...d }) => d) };
}
