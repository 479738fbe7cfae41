// Realtime events and the audit trail, written in the same transaction as the change they announce
// (one statement through app.record_change), so nothing is announced that did not happen.
import type { Ctx } from './context.js';
import type { RealtimeEventName } from './realtime-events.js';

export type { RealtimeEventName } from './realtime-events.js';
/** The events of one family (or several), e.g. `EventsOf<'workflow'>`: for a helper that announces them. */
export type EventsOf<Family extends string> = Extract<RealtimeEventName, `${Family}.${string}`>;

export const topics = {
  org: (orgId: string) => `org:${orgId}`,
  thread: (orgId: string, threadId: string) => `org:${orgId}:thread:${threadId}`,
  shipment: (orgId: string, shipmentId: string) => `org:${orgId}:shipment:${shipmentId}`,
  user: (userId: string) => `user:${userId}`,
};

export interface Change {
  /** Event name, e.g. `thread.updated`: one lib/realtime-events.ts lists (its docs and `x-realtime` come from there). */
  event: RealtimeEventName;
  topics: string[];
  data: unknown;
  /** The audit row; omitted for changes that are not worth auditing (read state). */
  audit?: { action?: string; entityType: string; entityId: string | null; data?: unknown };
}

/** The broadcast payload the web app receives: `{ event, orgId, actorId, actorApiKeyId?, at, data }`. */
export function eventPayload(ctx: Ctx, event: RealtimeEventName, data: unknown) {
  return { event, orgId: ctx.orgId, actorId: ctx.userId, ...(ctx.apiKey ? { actorApiKeyId: ctx.apiKey.id } : {}), at: new Date().toISOString(), data };
}

export async function recordChange(ctx: Ctx, change: Change): Promise<void> {
  const payload = eventPayload(ctx, change.event, change.data);
  const a = change.audit;
  await ctx.sql`
    select app.record_change(
      ${change.topics}::text[], ${change.event}, ${ctx.sql.json(payload as never)},
      ${a ? (a.action ?? change.event) : null}, ${a?.entityType ?? null}, ${a?.entityId ?? null}::uuid,
      ${a?.data === undefined ? null : ctx.sql.json(a.data as never)}, ${ctx.requestId})`;
}
