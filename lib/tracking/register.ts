// Queues the registration of a shipment's containers, B/Ls and bookings with the organization's
// tracking provider (the job lives in lib/tracking/service.ts); kept apart so the shipment routes do
// not load the provider's code.
import type { Ctx } from '../context.js';
import { enqueue } from '../jobs/enqueue.js';
import { jobSpecs } from '../jobs/specs.js';

/** Queues the registration when the organization has an enabled integration (in the caller's transaction). */
export async function enqueueTrackingRegistration(ctx: Ctx, shipmentId: string): Promise<void> {
  const [integration] = await ctx.sql`select id from app.tracking_integrations where org_id = ${ctx.orgId} and enabled`;
  if (integration) await enqueue(ctx, jobSpecs.trackingRegister, { shipmentId });
}
