// Threads as the API answers them (wire form: instants as ISO strings). Strict objects: a column added to
// the thread select must be declared here too, or every test that reads a thread fails.
import * as z from 'zod';
import { INTENTS, SENTIMENTS, URGENCIES } from '../ai/analysis/schema.js';
import { CUSTOMER_KINDS, CUSTOMER_TIERS } from '../customers/service.js';
import { warningWire } from '../org/wire.js';
import { listOrSyncOf, wireId, wireInstant } from '../wire.js';
import { CHANNELS, PRIORITIES, THREAD_STATUSES } from './service.js';

/** Shipment modes and statuses (the check constraints of app.shipments). */
export const SHIPMENT_MODES = ['sea_fcl', 'sea_lcl', 'air', 'road', 'rail', 'multimodal'] as const;
export const SHIPMENT_STATUSES = ['enquiry', 'booked', 'in_transit', 'arrived', 'customs', 'delivered', 'closed', 'cancelled'] as const;
/** How a shipment came to be linked to a thread or message; `rejected` links are never listed. */
export const LINK_SOURCES = ['automatic', 'manual'] as const;

/** A thread as lists, create, edit and assignment answer: the row, its customer's name and the caller's unread flag. */
export const threadWire = z
  .strictObject({
    id: wireId,
    subject: z.string(),
    status: z.enum(THREAD_STATUSES),
    priority: z.enum(PRIORITIES),
    channel: z.enum(CHANNELS),
    channelId: wireId.nullable(),
    customerId: wireId.nullable(),
    contactId: wireId.nullable(),
    /** The address or number the thread is with. */
    counterpart: z.string().nullable(),
    assigneeId: wireId.nullable(),
    teamId: wireId.nullable(),
    tags: z.array(z.string()),
    snoozedUntil: wireInstant.nullable(),
    snippet: z.string(),
    messageCount: z.number().int().nonnegative(),
    firstInboundAt: wireInstant.nullable(),
    lastInboundAt: wireInstant.nullable(),
    firstOutboundAt: wireInstant.nullable(),
    lastOutboundAt: wireInstant.nullable(),
    lastMessageAt: wireInstant.nullable(),
    lastActivityAt: wireInstant,
    resolvedAt: wireInstant.nullable(),
    closedAt: wireInstant.nullable(),
    /** The earlier thread this one continues (a reply after the earlier one was closed). */
    previousThreadId: wireId.nullable(),
    /**
     * Set on a thread merged into another: it is closed and holds nothing any more; show the thread named
     * here instead (POST /api/threads/{id}/merge).
     */
    mergedIntoThreadId: wireId.nullable(),
    intent: z.enum(INTENTS).nullable(),
    sentiment: z.enum(SENTIMENTS).nullable(),
    sentimentScore: z.number().nullable(),
    urgency: z.enum(URGENCIES).nullable(),
    firstResponseDueAt: wireInstant.nullable(),
    nextResponseDueAt: wireInstant.nullable(),
    resolutionDueAt: wireInstant.nullable(),
    slaBreachedAt: wireInstant.nullable(),
    /** The SLA policy the due times follow (null without running clocks: no customer message yet, or resolved, closed, spam). */
    slaPolicyId: wireId.nullable(),
    /**
     * Since when the clocks are paused (the thread is pending or snoozed), else null. The due times do not
     * move while paused: they are recomputed, with the paused time added back, when the thread reopens.
     */
    slaPausedSince: wireInstant.nullable(),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
    customerName: z.string().nullable(),
    /** For the caller: a message arrived after they last read the thread. */
    unread: z.boolean(),
  })
  .meta({ id: 'Thread' });

/** GET /api/threads/{id}: the thread with its customer, contact and linked shipments. */
export const threadDetailWire = threadWire
  .extend({
    customer: z.strictObject({ id: wireId, name: z.string(), kind: z.enum(CUSTOMER_KINDS), tier: z.enum(CUSTOMER_TIERS) }).nullable(),
    contact: z
      .strictObject({ id: wireId, name: z.string(), email: z.string().nullable(), phone: z.string().nullable(), whatsapp: z.string().nullable() })
      .nullable(),
    shipments: z.array(
      z.strictObject({
        id: wireId,
        reference: z.string(),
        mode: z.enum(SHIPMENT_MODES),
        status: z.enum(SHIPMENT_STATUSES),
        linkSource: z.enum(LINK_SOURCES),
        matchedIdentifier: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'ThreadDetail' });

/** A page of the list, or with `updatedSince` a page of changes (lib/sync.ts). */
export const threadPageWire = listOrSyncOf(threadWire);

/** A thread as create, edit and assignment answer: with `warnings` when the change deserves attention (an away assignee). */
export const threadChangedWire = threadWire.extend({ warnings: z.array(warningWire).min(1).optional() }).meta({ id: 'ThreadChanged' });

/** PUT/DELETE /api/threads/{id}/read: the caller's read state of the thread. */
export const threadReadStateWire = z.strictObject({ threadId: wireId, unread: z.boolean() }).meta({ id: 'ThreadReadState' });

export { SLA_AT_RISK_MINUTES } from './sla-state.js';

const count = z.number().int().min(0);

/** GET /api/threads/counts: the inbox sidebar for the caller. */
export const threadCountsWire = z
  .strictObject({
    /** Threads in status `open`: the work waiting on the team (pending, snoozed, resolved and closed are not). */
    open: count,
    /** Open threads assigned to the caller. */
    mine: count,
    /** Open threads assigned to nobody. */
    unassigned: count,
    /** Open threads with a message the caller has not read. */
    unread: count,
    /** Open threads of each team the caller belongs to, by name. */
    teams: z.array(z.strictObject({ id: wireId, name: z.string(), open: count })),
    /** Threads in each status. */
    statuses: z.strictObject(Object.fromEntries(THREAD_STATUSES.map((s) => [s, count])) as Record<(typeof THREAD_STATUSES)[number], typeof count>),
    /** Open threads whose SLA is breached, or falls due within `atRiskMinutes` (or is overdue, not yet marked breached). */
    sla: z.strictObject({ atRisk: count, breached: count, atRiskMinutes: count }),
  })
  .meta({ id: 'ThreadCounts' });
