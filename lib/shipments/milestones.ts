// Milestones of a shipment: planned and actual times of what happens to the cargo, kept apart by mode
// (an air milestone on a sea shipment is refused). The shipment's status, ETD/ETA, ATD/ATA and the
// dates its free time counts from derive from them (deriveFromMilestones, the one rule); a new
// milestone or a changed ETA is announced and handed to subscribers (lib/shipments/events.ts).
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { invalid, notFound } from '../errors.js';
import { recordChange, topics } from '../realtime.js';
import { emitShipmentEvent } from './events.js';
import { instant, unlocode, milestoneFitsMode, MILESTONE_MODES, SHIPMENT_MODES, SHIPMENT_STATUSES } from './schemas.js';
import { getShipment } from './service.js';

type Mode = (typeof SHIPMENT_MODES)[number];
type Status = (typeof SHIPMENT_STATUSES)[number];

export { MILESTONE_MODES, milestoneFitsMode };
export const MILESTONE_CODES = Object.keys(MILESTONE_MODES) as [string, ...string[]];
/** What members and the API may set; `tracking` is written by the tracking integration only. */
export const MILESTONE_INPUT_SOURCES = ['manual', 'email', 'carrier', 'ai'] as const;
export const MILESTONE_SOURCES = [...MILESTONE_INPUT_SOURCES, 'tracking'] as const;

const milestoneFields = {
  code: z.enum(MILESTONE_CODES),
  label: z.string().trim().min(1).max(200).nullable(),
  location: unlocode.nullable(),
  plannedAt: instant.nullable(),
  actualAt: instant.nullable(),
  source: z.enum(MILESTONE_INPUT_SOURCES),
};

export const milestoneCreate = z
  .strictObject({
    code: milestoneFields.code,
    label: milestoneFields.label.optional(),
    location: milestoneFields.location.optional(),
    plannedAt: milestoneFields.plannedAt.optional(),
    actualAt: milestoneFields.actualAt.optional(),
    source: milestoneFields.source.default('manual'),
  })
  .refine((v) => v.plannedAt || v.actualAt, { message: 'needs plannedAt or actualAt', path: ['plannedAt'] });

export const milestoneUpdate = z
  .strictObject({ ...milestoneFields })
  .omit({ code: true })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export type MilestoneInput = Omit<z.infer<typeof milestoneCreate>, 'source'> & { source: (typeof MILESTONE_SOURCES)[number]; externalId?: string };

export interface Milestone {
  id: string;
  shipmentId: string;
  code: string;
  plannedAt: Date | null;
  actualAt: Date | null;
  [key: string]: unknown;
}

const COLUMNS = 'id, shipment_id, code, label, location, planned_at, actual_at, source, external_id, created_by, created_at, updated_at';

/** Status rank: derivation only ever moves a shipment forward, and never out of closed or cancelled. */
const RANK: Record<Status, number> = { enquiry: 0, booked: 1, in_transit: 2, arrived: 3, customs: 4, delivered: 5, closed: 6, cancelled: 6 };
const STATUS_OF: Record<string, Status> = {
  booking_confirmed: 'booked',
  cargo_received: 'booked',
  received: 'booked',
  empty_pickup: 'booked',
  stuffing: 'booked',
  gate_in: 'booked',
  loaded: 'booked',
  manifested: 'booked',
  departed: 'in_transit',
  transshipment: 'in_transit',
  arrived: 'arrived',
  discharged: 'arrived',
  delivery_order: 'arrived',
  gate_out: 'arrived',
  out_for_delivery: 'arrived',
  empty_returned: 'arrived',
  delivered: 'delivered',
};

/**
 * The status a milestone that happened moves a shipment to. Customs clearance is the `customs` stage
 * at destination (imports, cross trade, domestic moves); an export's clearance happens before it sails
 * and keeps it `booked`, so a later departure still moves it on.
 */
export function statusOfMilestone(code: string, direction: string): Status | undefined {
  if (code === 'customs_cleared') return direction === 'export' ? 'booked' : 'customs';
  return STATUS_OF[code];
}

function refuseForMode(mode: Mode, code: string) {
  if (!milestoneFitsMode(mode, code)) throw invalid('body.code', `${code} is not a milestone of a ${mode} shipment`);
}

export async function listMilestones(ctx: Ctx, shipmentId: string) {
  await getShipment(ctx, shipmentId);
  const data = await ctx.sql<Milestone[]>`
    select ${ctx.sql.unsafe(COLUMNS)} from app.shipment_milestones
    where org_id = ${ctx.orgId} and shipment_id = ${shipmentId}
    order by coalesce(actual_at, planned_at, created_at), id
    limit 500`;
  return { data };
}

/** Records a milestone (the API's, or the tracking integration's with its event id: once per event). */
export async function createMilestone(ctx: Ctx, shipmentId: string, input: MilestoneInput): Promise<Milestone> {
  const sql = ctx.sql;
  const shipment = await getShipment(ctx, shipmentId, true);
  refuseForMode(shipment.mode, input.code);
  const [milestone] = await sql<Milestone[]>`
    insert into app.shipment_milestones (org_id, shipment_id, code, label, location, planned_at, actual_at, source, external_id, created_by)
    values (${ctx.orgId}, ${shipmentId}, ${input.code}, ${input.label ?? null}, ${input.location ?? null}, ${input.plannedAt ?? null},
            ${input.actualAt ?? null}, ${input.source}, ${input.externalId ?? null}, ${ctx.userId})
    returning ${sql.unsafe(COLUMNS)}`;
  await emitShipmentEvent(ctx, { event: 'shipment.milestone', shipmentId, milestone: milestone! });
  await deriveFromMilestones(ctx, shipmentId);
  return milestone!;
}

async function loadMilestone(ctx: Ctx, id: string): Promise<Milestone> {
  const [m] = await ctx.sql<Milestone[]>`select ${ctx.sql.unsafe(COLUMNS)} from app.shipment_milestones where id = ${id} and org_id = ${ctx.orgId}`;
  if (!m) throw notFound('Milestone');
  return m;
}

export async function updateMilestone(ctx: Ctx, id: string, input: z.infer<typeof milestoneUpdate>): Promise<Milestone> {
  const sql = ctx.sql;
  const before = await loadMilestone(ctx, id);
  await getShipment(ctx, before.shipmentId, true);
  const [milestone] = await sql<Milestone[]>`
    update app.shipment_milestones set ${sql(input as never)} where id = ${id} and org_id = ${ctx.orgId}
    returning ${sql.unsafe(COLUMNS)}`;
  const happened = before.actualAt === null && milestone!.actualAt !== null;
  if (happened) await emitShipmentEvent(ctx, { event: 'shipment.milestone', shipmentId: before.shipmentId, milestone: milestone! });
  else
    await recordChange(ctx, {
      event: 'shipment.milestone_updated',
      topics: [topics.shipment(ctx.orgId, before.shipmentId)],
      data: { shipmentId: before.shipmentId, milestone },
      audit: { entityType: 'shipment', entityId: before.shipmentId, data: { milestoneId: id, ...input } },
    });
  await deriveFromMilestones(ctx, before.shipmentId);
  return milestone!;
}

export async function deleteMilestone(ctx: Ctx, id: string): Promise<null> {
  const before = await loadMilestone(ctx, id);
  await getShipment(ctx, before.shipmentId, true);
  await ctx.sql`delete from app.shipment_milestones where id = ${id} and org_id = ${ctx.orgId}`;
  await recordChange(ctx, {
    event: 'shipment.milestone_deleted',
    topics: [topics.shipment(ctx.orgId, before.shipmentId)],
    data: { shipmentId: before.shipmentId, id },
    audit: { entityType: 'shipment', entityId: before.shipmentId, data: { milestoneId: id } },
  });
  await deriveFromMilestones(ctx, before.shipmentId);
  return null;
}

/**
 * The one rule deriving a shipment from its milestones: ETD/ATD from the first departure, ETA/ATA from
 * the last arrival (ATA falls back to the discharge), the empty pick-up, discharge and gate-out that
 * free time counts from, and the status of the furthest milestone that happened (forward only). A
 * date no milestone gives stays as it was set. Announces `shipment.updated` when anything changed and
 * `shipment.eta_changed` when the ETA did.
 */
export async function deriveFromMilestones(ctx: Ctx, shipmentId: string): Promise<void> {
  const sql = ctx.sql;
  const before = await getShipment(ctx, shipmentId);
  const [d] = await sql<
    {
      etd: Date | null;
      atd: Date | null;
      eta: Date | null;
      ata: Date | null;
      discharged: Date | null;
      emptyPickup: Date | null;
      gateOut: Date | null;
      codes: string[];
    }[]
  >`
    select
      (select planned_at from app.shipment_milestones m where m.org_id = ${ctx.orgId} and m.shipment_id = ${shipmentId} and code = 'departed' and planned_at is not null order by coalesce(actual_at, planned_at), id limit 1) as etd,
      (select min(actual_at) from app.shipment_milestones where org_id = ${ctx.orgId} and shipment_id = ${shipmentId} and code = 'departed') as atd,
      (select planned_at from app.shipment_milestones m where m.org_id = ${ctx.orgId} and m.shipment_id = ${shipmentId} and code = 'arrived' and planned_at is not null order by coalesce(actual_at, planned_at) desc, id desc limit 1) as eta,
      (select max(actual_at) from app.shipment_milestones where org_id = ${ctx.orgId} and shipment_id = ${shipmentId} and code = 'arrived') as ata,
      (select max(actual_at) from app.shipment_milestones where org_id = ${ctx.orgId} and shipment_id = ${shipmentId} and code = 'discharged') as discharged,
      (select min(actual_at) from app.shipment_milestones where org_id = ${ctx.orgId} and shipment_id = ${shipmentId} and code = 'empty_pickup') as empty_pickup,
      (select max(actual_at) from app.shipment_milestones where org_id = ${ctx.orgId} and shipment_id = ${shipmentId} and code = 'gate_out') as gate_out,
      array(select distinct code from app.shipment_milestones where org_id = ${ctx.orgId} and shipment_id = ${shipmentId} and actual_at is not null) as codes`;
  const derived = d!;
  let status = before.status;
  if (RANK[status] < RANK.closed) {
    for (const code of derived.codes) {
      const s = statusOfMilestone(code, before.direction as string);
      if (s && RANK[s] > RANK[status]) status = s;
    }
  }
  const next: Record<string, unknown> = {};
  const set = (column: string, value: Date | null, current: unknown) => {
    if (value !== null && (current as Date | null)?.getTime() !== value.getTime()) next[column] = value;
  };
  set('etd', derived.etd, before.etd);
  set('atd', derived.atd, before.atd);
  set('eta', derived.eta, before.eta);
  set('ata', derived.ata ?? derived.discharged, before.ata);
  set('dischargedAt', derived.discharged, before.dischargedAt);
  set('emptyPickupAt', derived.emptyPickup, before.emptyPickupAt);
  set('gateOutAt', derived.gateOut, before.gateOutAt);
  if (status !== before.status) next.status = status;
  if (!Object.keys(next).length) return;
  await sql`update app.shipments set ${sql(next as never)} where id = ${shipmentId} and org_id = ${ctx.orgId}`;
  const shipment = await getShipment(ctx, shipmentId);
  await recordChange(ctx, {
    event: 'shipment.updated',
    topics: [topics.org(ctx.orgId), topics.shipment(ctx.orgId, shipmentId)],
    data: shipment,
    audit: { action: 'shipment.derived', entityType: 'shipment', entityId: shipmentId, data: next },
  });
  if ('eta' in next) await emitShipmentEvent(ctx, { event: 'shipment.eta_changed', shipmentId, previousEta: before.eta, eta: shipment.eta });
}
