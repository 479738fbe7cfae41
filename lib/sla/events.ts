// The hook for SLA warnings and breaches: each event the sla-check cron raises (lib/sla/check.ts)
// queues one `sla.event` job, which hands the event to every subscriber, in the job's transaction, with
// the job's retries. Notifications and automations register here with onSlaEvent at import time.
import type { Ctx } from '../context.js';
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import type { SlaEvent } from './check.js';

export type SlaSubscriber = (ctx: Ctx, event: SlaEvent) => Promise<void>;

const subscribers = new Map<string, SlaSubscriber>();

/** Registers a subscriber under a name (registering the name again replaces it); returns the unsubscribe. */
export function onSlaEvent(name: string, subscriber: SlaSubscriber): () => void {
  subscribers.set(name, subscriber);
  return () => {
    if (subscribers.get(name) === subscriber) subscribers.delete(name);
  };
}

export const deliverSlaEvent = defineJob({
  ...jobSpecs.slaEvent,
  async handle({ ctx, payload }) {
    const [event] = await ctx.sql<SlaEvent[]>`
      select e.id, e.thread_id, e.target, e.kind, e.due_at, t.sla_policy_id as policy_id
      from app.sla_events e join app.threads t on t.id = e.thread_id
      where e.id = ${payload.eventId} and e.org_id = ${ctx.orgId}`;
    if (!event) return;
    for (const subscriber of subscribers.values()) await subscriber(ctx, event);
  },
});
