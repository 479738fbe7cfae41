// Shipments, milestones, links and the timeline as the API answers them (wire form: instants as ISO
// strings, dates as YYYY-MM-DD). Strict: a column added to a select must be declared here too.
import * as z from 'zod';
import { pageOf, wireId, wireInstant } from '../wire.js';
import { CONTAINER_TYPES, INCOTERMS, PARTY_ROLES, SHIPMENT_DIRECTIONS, SHIPMENT_MODES, SHIPMENT_STATUSES } from './schemas.js';

const wireDate = z.iso.date();
const party = z.union([z.strictObject({ customerId: wireId }), z.strictObject({ name: z.string(), address: z.string().optional() })]).nullable();

export const shipmentWire = z
  .strictObject({
    id: wireId,
    /** The forwarder's job reference. */
    reference: z.string(),
    customerId: wireId.nullable(),
    customerName: z.string().nullable(),
    mode: z.enum(SHIPMENT_MODES),
    direction: z.enum(SHIPMENT_DIRECTIONS),
    status: z.enum(SHIPMENT_STATUSES),
    parties: z.partialRecord(z.enum(PARTY_ROLES), party),
    containers: z.array(z.string()),
    awbs: z.array(z.string()),
    hawbs: z.array(z.string()),
    mbls: z.array(z.string()),
    hbls: z.array(z.string()),
    bookings: z.array(z.string()),
    poNumbers: z.array(z.string()),
    invoiceNumbers: z.array(z.string()),
    /** UN/LOCODE, and its name when the shipped set knows it. */
    originPort: z.string().nullable(),
    originName: z.string().nullable(),
    destinationPort: z.string().nullable(),
    destinationName: z.string().nullable(),
    // Seeded and older rows may carry an incoterm outside the 2020 list: any three letters.
    incoterm: z.union([z.enum(INCOTERMS), z.string().regex(/^[A-Z]{3}$/)]).nullable(),
    incotermPlace: z.string().nullable(),
    carrier: z.string().nullable(),
    vessel: z.string().nullable(),
    voyage: z.string().nullable(),
    flight: z.string().nullable(),
    packages: z.number().int().nullable(),
    grossWeightKg: z.number().nullable(),
    volumeCbm: z.number().nullable(),
    containerTypes: z.array(z.enum(CONTAINER_TYPES)),
    cargoDescription: z.string().nullable(),
    etd: wireInstant.nullable(),
    eta: wireInstant.nullable(),
    atd: wireInstant.nullable(),
    ata: wireInstant.nullable(),
    siCutoffAt: wireInstant.nullable(),
    vgmCutoffAt: wireInstant.nullable(),
    docCutoffAt: wireInstant.nullable(),
    cyCutoffAt: wireInstant.nullable(),
    /** The earliest of the four cut-offs. */
    nextCutoffAt: wireInstant.nullable(),
    originFreeDays: z.number().int().nullable(),
    demurrageFreeDays: z.number().int().nullable(),
    detentionFreeDays: z.number().int().nullable(),
    emptyPickupAt: wireInstant.nullable(),
    dischargedAt: wireInstant.nullable(),
    gateOutAt: wireInstant.nullable(),
    originLastFreeDay: wireDate.nullable(),
    demurrageLastFreeDay: wireDate.nullable(),
    detentionLastFreeDay: wireDate.nullable(),
    /** The earliest of the three last free days. */
    freeTimeEndsOn: wireDate.nullable(),
    ownerId: wireId.nullable(),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Shipment' });

export const shipmentPageWire = pageOf(shipmentWire);

export const milestoneWire = z
  .strictObject({
    id: wireId,
    shipmentId: wireId,
    code: z.string(),
    label: z.string().nullable(),
    location: z.string().nullable(),
    plannedAt: wireInstant.nullable(),
    actualAt: wireInstant.nullable(),
    source: z.enum(['manual', 'email', 'carrier', 'ai', 'tracking']),
    /** The tracking provider's event id. */
    externalId: z.string().nullable(),
    createdBy: wireId.nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Milestone' });

export const milestoneListWire = z.strictObject({ data: z.array(milestoneWire) });

export const threadLinkWire = z
  .strictObject({
    threadId: wireId,
    shipmentId: wireId,
    linkSource: z.enum(['automatic', 'manual', 'rejected']),
    matchedIdentifier: z.string().nullable(),
    createdAt: wireInstant,
  })
  .meta({ id: 'ShipmentThreadLink' });

export const linkedThreadsWire = z.strictObject({
  data: z.array(
    z.strictObject({
      id: wireId,
      subject: z.string().nullable(),
      status: z.string(),
      channel: z.string(),
      lastActivityAt: wireInstant,
      linkSource: z.enum(['automatic', 'manual']),
      matchedIdentifier: z.string().nullable(),
    }),
  ),
});

export const timelineItemWire = z
  .strictObject({
    kind: z.enum(['milestone', 'message', 'note', 'action', 'document']),
    id: wireId,
    at: wireInstant,
    threadId: wireId.nullable(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'ShipmentTimelineItem' });

export const timelinePageWire = pageOf(timelineItemWire);
