// The `webhook.deliver` job: one delivery POSTed to its endpoint, signed in the Standard Webhooks
// format (https://www.standardwebhooks.com: `webhook-id`, `webhook-timestamp`, `webhook-signature`,
// signed by the `standardwebhooks` package) with the endpoint's secret and, during a rotation's
// overlap, its previous one too (two `v1,` signatures). The webhook-id is the same on every attempt,
// so a receiver that saw it drops the repeat. A 2xx is delivered; anything else is retried with the
// job's backoff until its attempts or deadline run out, and the delivery is then failed. Each attempt
// is recorded on the delivery (its log). The URL passes the private-network guard at every attempt.
import { Webhook } from 'standardwebhooks';
import { HostRefusedError, publicFetch } from '../channels/net-guard.js';
import { openSecret } from '../crypto/secrets.js';
import { defineJob, PermanentJobError } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { signingSecrets } from './service.js';

const TIMEOUT_MS = 15_000;

interface Prepared {
  url: string;
  webhookId: string;
  body: string;
  signers: Webhook[];
}

export const deliverWebhookJob = defineJob({
  ...jobSpecs.webhookDeliver,
  async perform({ transact, payload }) {
    const prepared = await transact(async (ctx): Promise<Prepared | 'disabled' | null> => {
      const [d] = await ctx.sql<{ endpointId: string; webhookId: string; payload: unknown; status: string }[]>`
        select endpoint_id, webhook_id, payload, status from app.webhook_deliveries where id = ${payload.deliveryId} and org_id = ${ctx.orgId}`;
      if (!d || d.status !== 'pending') return null;
      const endpoint = await signingSecrets(ctx, d.endpointId, new Date());
      if (!endpoint) return null;
      if (!endpoint.enabled) return 'disabled';
      return {
        url: endpoint.url,
        webhookId: d.webhookId,
        body: JSON.stringify(d.payload),
        signers: endpoint.secrets.map((s) => new Webhook(openSecret<string>(s, ctx.orgId))),
      };
    });
    if (prepared === null) return;
    if (prepared === 'disabled') throw new PermanentJobError('the endpoint is disabled');
    const at = new Date();
    const signature = prepared.signers.map((w) => w.sign(prepared.webhookId, at, prepared.body)).join(' ');
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await publicFetch(prepared.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Banxway-Webhooks/1',
          'webhook-id': prepared.webhookId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body: prepared.body,
        timeoutMs: TIMEOUT_MS,
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (status < 200 || status > 299) error = `the endpoint answered ${status}`;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      if (e instanceof HostRefusedError) {
        await record(transact, payload.deliveryId, null, error, 'failed');
        throw new PermanentJobError(error);
      }
    }
    await record(transact, payload.deliveryId, status, error, error ? 'pending' : 'delivered');
    if (error) throw new Error(error);
  },
  async onDead({ ctx, payload, error }) {
    await ctx.sql`
      update app.webhook_deliveries set status = 'failed', error = coalesce(error, ${error.slice(0, 1000)})
      where id = ${payload.deliveryId} and org_id = ${ctx.orgId} and status = 'pending'`;
  },
});

function record(
  transact: Parameters<NonNullable<typeof deliverWebhookJob.perform>>[0]['transact'],
  id: string,
  status: number | null,
  error: string | null,
  state: 'pending' | 'delivered' | 'failed',
) {
  return transact(
    (ctx) => ctx.sql`
      update app.webhook_deliveries set attempts = attempts + 1, response_status = ${status}, error = ${error?.slice(0, 1000) ?? null},
        last_attempt_at = now(), status = ${state}, delivered_at = ${state === 'delivered' ? new Date() : null}
      where id = ${id} and org_id = ${ctx.orgId}`,
  );
}
