// The hook for what happens to a shipment: a new milestone (`shipment.milestone`) or a changed ETA
// (`shipment.eta_changed`). Each is announced on the realtime topics `org:{orgId}` and
// `org:{orgId}:shipment:{id}` in the writing transaction, and queues one `shipment.event` job that
// hands it to every subscriber in the job's transaction, with the job's retries. The workflow engine
// subscribes with onShipmentEvent at import time (lib/workflows/engine.ts, imported by
// lib/jobs/all.ts) and starts the `shipment.milestone` and `shipment.eta_changed` workflows on each
// linked thread; member notifications do not subscribe (a workflow's notify step tells whom it names):
//
//   onShipmentEvent('workflows', async (ctx, event) => { if (event.event === 'shipment.milestone') ... });
import { randomUUID } from 'node:crypto';
import type { Ctx } from '../context.js';
import { enqueue } from '../jobs/enqueue.js';
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { recordChange, topics } from '../realtime.js';

export interface ShipmentEvent {
  event: 'shipment.milestone' | 'shipment.eta_changed';
  shipmentId: string;
  /** The milestone (shipment.milestone), as GET /api/shipments/{id}/milestones lists it. */
  milestone?: Record<string, unknown> & { id: string };
  previousEta?: Date | null;
  eta?: Date | null;
}

/** What a subscriber receives: the event as the job carries it, and the shipment's current row. */
export interface DeliveredShipmentEvent {
  event: ShipmentEvent['event'];
  shipmentId: string;
  milestoneId: string | null;
  /** shipment.milestone: recorded as planned, or its actual time set (null for jobs queued before this was carried). */
  stage?: 'planned' | 'actual' | null;
  /** This occurrence, for subscribers that deduplicate (absent for jobs queued before this was carried). */
  occurrenceId?: string;
  previousEta: string | null;
  eta: string | null;
}

export type ShipmentSubscriber = (ctx: Ctx, event: DeliveredShipmentEvent) => Promise<void>;

const subscribers = new Map<string, ShipmentSubscriber>();

/** Registers a subscriber under a name (registering the name again replaces it); returns the unsubscribe. */
export function onShipmentEvent(name: string, subscriber: ShipmentSubscriber): () => void {
  subscribers.set(name, subscriber);
  return () => {
    if (subscribers.get(name) === subscriber) subscribers.delete(name);
  };
}

/** Announces the event and queues its delivery to subscribers, in the caller's transaction. */
export async function emitShipmentEvent(ctx: Ctx, e: ShipmentEvent): Promise<void> {
  const data =
    e.event === 'shipment.milestone'
      ? { shipmentId: e.shipmentId, milestone: e.milestone }
      : { shipmentId: e.shipmentId, previousEta: e.previousEta ?? null, eta: e.eta ?? null };
  await recordChange(ctx, {
    event: e.event,
    topics: [topics.org(ctx.orgId), topics.shipment(ctx.orgId, e.shipmentId)],
    data,
    audit: { entityType: 'shipment', entityId: e.shipmentId, data },
  });
  await enqueue(ctx, jobSpecs.shipmentEvent, {
    event: e.event,
    shipmentId: e.shipmentId,
    milestoneId: e.milestone?.id ?? null,
    stage: e.milestone ? (e.milestone.actualAt ? 'actual' : 'planned') : null,
    occurrenceId: randomUUID(),
    previousEta: e.previousEta ? e.previousEta.toISOString() : null,
    eta: e.eta ? e.eta.toISOString() : null,
  });
}

export const deliverShipmentEvent = defineJob({
  ...jobSpecs.shipmentEvent,
  async handle({ ctx, payload }) {
    const [exists] = await ctx.sql`select 1 from app.shipments where id = ${payload.shipmentId} and org_id = ${ctx.orgId}`;
    if (!exists) return;
    for (const subscriber of subscribers.values()) await subscriber(ctx, payload);
  },
});
