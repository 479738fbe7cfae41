// Tracking updates from a provider (Terminal49): an organization's integration (its API key and
// webhook secret sealed), registration of a shipment's containers and B/Ls when it gains them (a job:
// the provider sends events only for what was registered), and the callback, verified by the
// provider's HMAC signature, stored once per provider event id and mapped to milestones and ETA changes.
import * as z from 'zod';
import { config } from '../config.js';
import { asSystem, type Ctx, type QueuedJob } from '../context.js';
import { openSecret, sealSecret, type SealedSecret } from '../crypto/secrets.js';
import { db } from '../db/client.js';
import { AppError, conflict } from '../errors.js';
import { errorResponse } from '../http/errors.js';
import { readBody, requestIdOf, toErrorResponse } from '../http/route.js';
import { finishWebhookEvent, storeWebhookEvent } from '../http/webhook-events.js';
import { publishJobs } from '../jobs/publish.js';
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { log } from '../log.js';
import { normalizeContainerNumber, searchForms } from '../logistics/identifiers.js';
import { recordChange, topics } from '../realtime.js';
import { createMilestone, deriveFromMilestones, milestoneFitsMode } from '../shipments/milestones.js';
import { createTrackingRequest, parseNotification, signatureMatches, TRANSPORT_MILESTONES, type Notification, type RequestType } from './terminal49.js';

export const trackingIntegrationCreate = z.strictObject({
  provider: z.literal('terminal49'),
  apiKey: z.string().trim().min(8).max(500),
  webhookSecret: z.string().trim().min(8).max(500),
});

interface Secrets {
  apiKey: string;
  webhookSecret: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COLUMNS = 'id, provider, enabled, created_at, updated_at';
const withUrl = <T extends { id: string }>(row: T) => ({ ...row, webhookUrl: `${config().publicBaseUrl}/api/webhooks/tracking/${row.id}` });

export async function listTrackingIntegrations(ctx: Ctx) {
  const rows = await ctx.sql<
    { id: string }[]
  >`select ${ctx.sql.unsafe(COLUMNS)} from app.tracking_integrations where org_id = ${ctx.orgId} order by created_at`;
  return { data: rows.map(withUrl) };
}

/** Adds the organization's integration (one per provider); answers it with the URL to give the provider for webhooks. */
export async function createTrackingIntegration(ctx: Ctx, input: z.infer<typeof trackingIntegrationCreate>) {
  const sealed = sealSecret({ apiKey: input.apiKey, webhookSecret: input.webhookSecret } satisfies Secrets, ctx.orgId);
  const [row] = await ctx.sql<{ id: string }[]>`
    insert into app.tracking_integrations (org_id, provider, secret_ciphertext, secret_key_id, created_by)
    values (${ctx.orgId}, ${input.provider}, ${sealed.ciphertext}, ${sealed.keyId}, ${ctx.userId})
    on conflict (org_id, provider) do nothing
    returning ${ctx.sql.unsafe(COLUMNS)}`;
  if (!row) throw conflict(`The organization already has a ${input.provider} integration`);
  await recordChange(ctx, {
    event: 'tracking_integration.created',
    topics: [topics.org(ctx.orgId)],
    data: withUrl(row),
    audit: { entityType: 'tracking_integration', entityId: row.id, data: { provider: input.provider } },
  });
  return withUrl(row);
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

const SCAC = /^[A-Z]{4}$/;

/** The shipment's numbers not yet registered, with the carrier SCAC Terminal49 needs (the B/L's prefix, or the carrier when it is one). */
function numbersOf(s: { containers: string[]; mbls: string[]; bookings: string[]; carrier: string | null }) {
  const fromBl = s.mbls.map((b) => b.slice(0, 4)).find((p) => SCAC.test(p));
  const scac = fromBl ?? (s.carrier && SCAC.test(s.carrier.trim().toUpperCase()) ? s.carrier.trim().toUpperCase() : null);
  const numbers: Array<{ type: RequestType; number: string }> = [
    ...s.mbls.map((number) => ({ type: 'bill_of_lading' as const, number })),
    ...s.bookings.map((number) => ({ type: 'booking_number' as const, number })),
    ...s.containers.map((number) => ({ type: 'container' as const, number })),
  ];
  return { scac, numbers };
}

export const registerTracking = defineJob({
  ...jobSpecs.trackingRegister,
  // Each number is recorded in a transaction of its own right after the provider answered it, so a
  // retry (a 5xx on a later number, a crash) never posts a registered number again.
  async perform({ transact, payload }) {
    const plan = await transact(async (ctx) => {
      const sql = ctx.sql;
      const [integration] = await sql<{ id: string; secretCiphertext: string; secretKeyId: string }[]>`
        select id, secret_ciphertext, secret_key_id from app.tracking_integrations where org_id = ${ctx.orgId} and enabled`;
      const [shipment] = await sql<{ containers: string[]; mbls: string[]; bookings: string[]; carrier: string | null; mode: string }[]>`
        select container_numbers as containers, bl_numbers as mbls, booking_numbers as bookings, carrier, mode
        from app.shipments where id = ${payload.shipmentId} and org_id = ${ctx.orgId}`;
      if (!integration || !shipment || shipment.mode === 'air') return null;
      const secrets = openSecret<Secrets>({ ciphertext: integration.secretCiphertext, keyId: integration.secretKeyId } as SealedSecret, ctx.orgId);
      const { scac, numbers } = numbersOf(shipment);
      // Registered numbers are done; skipped ones (no SCAC then) are tried again once a SCAC exists.
      const done = await sql<{ requestType: string; requestNumber: string }[]>`
        select request_type, request_number from app.tracking_requests
        where integration_id = ${integration.id}
          and (status = 'created' ${scac ? sql`` : sql`or status = 'skipped'`})`;
      const known = new Set(done.map((d) => `${d.requestType}:${d.requestNumber}`));
      return { integrationId: integration.id, apiKey: secrets.apiKey, scac, todo: numbers.filter((x) => !known.has(`${x.type}:${x.number}`)) };
    });
    if (!plan) return;
    for (const n of plan.todo) {
      const result = plan.scac ? await createTrackingRequest(plan.apiKey, { ...n, scac: plan.scac }) : null;
      const status = result === null ? 'skipped' : result.ok ? 'created' : result.status >= 500 || result.status === 429 ? 'pending' : 'failed';
      await transact(
        (ctx) => ctx.sql`
          insert into app.tracking_requests (org_id, integration_id, shipment_id, request_type, request_number, scac, provider_request_id, status, error)
          values (${ctx.orgId}, ${plan.integrationId}, ${payload.shipmentId}, ${n.type}, ${n.number}, ${plan.scac}, ${result?.providerId ?? null}, ${status},
                  ${result === null ? 'no carrier SCAC: set the MBL or a 4-letter carrier code' : result.error})
          on conflict (integration_id, request_type, request_number) do update
            set status = excluded.status, error = excluded.error, provider_request_id = excluded.provider_request_id, scac = excluded.scac`,
      );
      if (status === 'pending') throw new Error(`Terminal49 answered ${result?.status}: ${result?.error}`);
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Callback
// ---------------------------------------------------------------------------------------------

/**
 * The shipments a notification concerns: those holding one of its containers (as a container) or its
 * B/L (as an MBL, HBL or booking: Terminal49 registers bookings under the same attribute), through the
 * GIN-indexed app.shipments_naming; never by a PO, invoice or job reference that happens to match.
 */
async function shipmentsOf(ctx: Ctx, n: Notification): Promise<Array<{ id: string; mode: string }>> {
  const containers = n.containers.map(normalizeContainerNumber).filter((c): c is string => c !== null);
  const bls = [...new Set(n.billsOfLading.flatMap(searchForms))];
  if (!containers.length && !bls.length) return [];
  return ctx.sql<{ id: string; mode: string }[]>`
    select distinct s.id, s.mode from app.shipments_naming(${containers}::text[], '{}'::text[], ${bls}::text[], ${bls}::text[]) f
    join app.shipments s on s.id = f.id
    where s.org_id = ${ctx.orgId} and s.mode <> 'air'`;
}

/** Maps one notification to milestones (a transport event) and ETA changes (the POD ETA). */
async function applyNotification(ctx: Ctx, n: Notification): Promise<'processed' | 'ignored'> {
  const shipments = await shipmentsOf(ctx, n);
  if (!shipments.length) return 'ignored';
  let applied = false;
  for (const s of shipments) {
    const code = n.transport ? TRANSPORT_MILESTONES[n.transport.event] : undefined;
    // A code of another mode (an empty pick-up on an LCL shipment) is skipped, not refused: the
    // provider would otherwise retry the same delivery forever.
    if (n.transport && code && n.transport.at && milestoneFitsMode(s.mode, code)) {
      const externalId = `terminal49:${n.transport.id}`;
      const [exists] =
        await ctx.sql`select 1 from app.shipment_milestones where org_id = ${ctx.orgId} and shipment_id = ${s.id} and external_id = ${externalId}`;
      if (!exists) {
        const locode = n.transport.locode && /^[A-Z]{2}[A-Z2-9]{3}$/.test(n.transport.locode) ? n.transport.locode : null;
        await createMilestone(ctx, s.id, { code, actualAt: n.transport.at, location: locode, source: 'tracking', externalId });
        applied = true;
      }
    }
    if (n.podEta) {
      // The provider's ETA is the planned arrival: one milestone the provider keeps moving.
      const externalId = 'terminal49:pod_eta';
      const [row] = await ctx.sql<{ id: string }[]>`
        insert into app.shipment_milestones (org_id, shipment_id, code, planned_at, source, external_id)
        values (${ctx.orgId}, ${s.id}, 'arrived', ${n.podEta}, 'tracking', ${externalId})
        on conflict (org_id, shipment_id, external_id) where external_id is not null
          do update set planned_at = excluded.planned_at where app.shipment_milestones.planned_at is distinct from excluded.planned_at
        returning id`;
      if (row) {
        await deriveFromMilestones(ctx, s.id);
        applied = true;
      }
    }
  }
  return applied ? 'processed' : 'ignored';
}

interface IntegrationRow {
  id: string;
  orgId: string;
  enabled: boolean;
  secretCiphertext: string;
  secretKeyId: string;
}

/** POST /api/webhooks/tracking/{integrationId}: verify, store once, apply; 200 for a duplicate. */
export async function receiveTrackingWebhook(request: Request): Promise<Response> {
  const requestId = requestIdOf(request);
  const headers = new Headers({ 'x-request-id': requestId });
  try {
    const url = new URL(request.url);
    const integrationId = url.searchParams.get('integrationId') ?? url.pathname.split('/').filter(Boolean).pop() ?? '';
    const refuse = () => new AppError('unauthorized', 'Unknown integration or bad signature');
    if (!UUID.test(integrationId)) throw refuse();
    const raw = await readBody(request, config().maxBodyBytes);
    const sql = await db();
    const [integration] = await sql<IntegrationRow[]>`
      select id, org_id, enabled, secret_ciphertext, secret_key_id from app.tracking_integrations where id = ${integrationId}`;
    if (!integration) throw refuse();
    const secrets = openSecret<Secrets>({ ciphertext: integration.secretCiphertext, keyId: integration.secretKeyId }, integration.orgId);
    if (!signatureMatches(raw, secrets.webhookSecret, request.headers.get('x-t49-webhook-signature'))) throw refuse();
    if (!integration.enabled) throw new AppError('gone', 'The tracking integration is disabled');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new AppError('bad_request', 'The body is not JSON');
    }
    const notification = parseNotification(body);
    if (!notification)
      throw new AppError('validation_failed', 'Not a Terminal49 webhook notification', {
        issues: [{ path: 'body.data', message: 'must be a webhook_notification with an id and an event' }],
      });

    const stored = await storeWebhookEvent({
      provider: 'tracking',
      dedupeKey: `terminal49:${notification.id}`,
      kind: notification.event,
      orgId: integration.orgId,
      channelId: integration.id,
      headers: { 'content-type': request.headers.get('content-type') },
      payload: body,
    });
    if (stored === 'duplicate') return Response.json({ outcome: 'duplicate' }, { headers });

    const jobs: QueuedJob[] = [];
    let outcome: 'processed' | 'ignored';
    try {
      outcome = await asSystem(integration.orgId, requestId, jobs, (ctx) => applyNotification(ctx, notification));
    } catch (error) {
      // Kept as failed: the provider retries a failed delivery, and the retry is processed, not taken for a duplicate.
      await finishWebhookEvent(stored.id, 'failed', { error });
      throw error;
    }
    await finishWebhookEvent(stored.id, outcome);
    await publishJobs(jobs);
    log.info('tracking webhook', { requestId, integrationId, event: notification.event, outcome });
    return Response.json({ outcome }, { headers });
  } catch (error) {
    if (error instanceof AppError) return errorResponse(error, requestId, headers);
    return toErrorResponse(error, requestId, request, headers);
  }
}
