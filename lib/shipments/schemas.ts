// What a shipment is made of at the API's boundary: the schema's vocabulary (modes, directions,
// statuses), Incoterms 2020, UN/LOCODE places, container types, and freight references validated and
// written in canonical form with the rules of lib/logistics (ISO 6346, IATA mod 7).
import * as z from 'zod';
import { normalizeAwb, normalizeContainerNumber } from '../logistics/identifiers.js';

export const SHIPMENT_MODES = ['sea_fcl', 'sea_lcl', 'air', 'road', 'rail', 'multimodal'] as const;
export const SHIPMENT_DIRECTIONS = ['export', 'import', 'cross_trade', 'domestic'] as const;
export const SHIPMENT_STATUSES = ['enquiry', 'booked', 'in_transit', 'arrived', 'customs', 'delivered', 'closed', 'cancelled'] as const;
/** Incoterms 2020: the eleven rules. */
export const INCOTERMS = ['EXW', 'FCA', 'CPT', 'CIP', 'DAP', 'DPU', 'DDP', 'FAS', 'FOB', 'CFR', 'CIF'] as const;
/** ISO size-type shorthand as forwarders write it. */
export const CONTAINER_TYPES = ['20GP', '20HC', '20RF', '20OT', '20FR', '20TK', '40GP', '40HC', '40RF', '40RH', '40OT', '40FR', '45HC', '53HC'] as const;
export const PARTY_ROLES = ['shipper', 'consignee', 'notifyParty', 'overseasAgent', 'carrier', 'customsBroker'] as const;

/** A UN/LOCODE: country (ISO 3166 alpha-2) and three letters or digits 2-9, e.g. INNSA, DEHAM. */
export const unlocode = z
  .string()
  .trim()
  .toUpperCase()
  .transform((v) => v.replace(/\s+/g, ''))
  .pipe(z.string().regex(/^[A-Z]{2}[A-Z2-9]{3}$/, 'must be a UN/LOCODE such as INNSA or DEHAM'));

export const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with an offset, e.g. 2027-01-05T18:00:00+05:30' });

const canonicalWith = (normalize: (v: string) => string | null, message: string) =>
  z
    .string()
    .max(40)
    .transform((v, c) => {
      const out = normalize(v);
      if (out === null) {
        c.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return out;
    });

/** An ISO 6346 container number, written any common way; stored as its 11 characters. */
export const containerNumber = canonicalWith(normalizeContainerNumber, 'must be an ISO 6346 container number with a valid check digit, e.g. MSKU1234565');
/** An IATA air waybill (also a house AWB numbered the same way); stored as PPP-SSSSSSSS. */
export const airWaybill = canonicalWith(normalizeAwb, 'must be an air waybill of 11 digits whose last is the serial mod 7, e.g. 176-12345675');
/** A B/L, booking, PO or invoice number: upper-case without spaces. */
export const documentNumber = z
  .string()
  .transform((v) => v.replace(/\s+/g, '').toUpperCase())
  .pipe(
    z
      .string()
      .min(1, 'must not be empty')
      .max(40)
      .regex(/^[A-Z0-9][A-Z0-9/._-]*$/, 'must be letters, digits and / . _ -'),
  );

const uniqueList = <T extends z.ZodType<string>>(item: T, max = 50) =>
  z
    .array(item)
    .max(max)
    .transform((v) => [...new Set(v as string[])]);

const party = z.union([
  z.strictObject({ customerId: z.uuid() }),
  z.strictObject({ name: z.string().trim().min(1).max(300), address: z.string().trim().max(1000).optional() }),
]);

export const shipmentFields = {
  /** The forwarder's own job reference, unique in the organization. */
  reference: z.string().trim().min(1).max(64),
  customerId: z.uuid().nullable(),
  mode: z.enum(SHIPMENT_MODES),
  direction: z.enum(SHIPMENT_DIRECTIONS),
  status: z.enum(SHIPMENT_STATUSES),
  parties: z.partialRecord(z.enum(PARTY_ROLES), party.nullable()),
  containers: uniqueList(containerNumber),
  awbs: uniqueList(airWaybill),
  hawbs: uniqueList(airWaybill),
  mbls: uniqueList(documentNumber),
  hbls: uniqueList(documentNumber),
  bookings: uniqueList(documentNumber),
  poNumbers: uniqueList(documentNumber),
  invoiceNumbers: uniqueList(documentNumber),
  originPort: unlocode.nullable(),
  destinationPort: unlocode.nullable(),
  incoterm: z.enum(INCOTERMS).nullable(),
  incotermPlace: z.string().trim().min(1).max(200).nullable(),
  carrier: z.string().trim().max(200).nullable(),
  vessel: z.string().trim().max(200).nullable(),
  voyage: z.string().trim().max(40).nullable(),
  flight: z
    .string()
    .trim()
    .toUpperCase()
    .transform((v) => v.replace(/\s+/g, ''))
    .pipe(z.string().regex(/^[A-Z0-9]{2}[A-Z]?\d{1,4}[A-Z]?$/, 'must be a flight number such as EK501'))
    .nullable(),
  packages: z.number().int().min(0).max(10_000_000).nullable(),
  grossWeightKg: z.number().min(0).max(1e9).nullable(),
  volumeCbm: z.number().min(0).max(1e7).nullable(),
  containerTypes: z.array(z.enum(CONTAINER_TYPES)).max(200),
  cargoDescription: z.string().trim().max(5000).nullable(),
  etd: instant.nullable(),
  eta: instant.nullable(),
  atd: instant.nullable(),
  ata: instant.nullable(),
  siCutoffAt: instant.nullable(),
  vgmCutoffAt: instant.nullable(),
  docCutoffAt: instant.nullable(),
  cyCutoffAt: instant.nullable(),
  originFreeDays: z.number().int().min(0).max(365).nullable(),
  demurrageFreeDays: z.number().int().min(0).max(365).nullable(),
  detentionFreeDays: z.number().int().min(0).max(365).nullable(),
  emptyPickupAt: instant.nullable(),
  dischargedAt: instant.nullable(),
  gateOutAt: instant.nullable(),
  ownerId: z.uuid().nullable(),
};

export const shipmentCreate = z.strictObject({
  ...Object.fromEntries(Object.entries(shipmentFields).map(([k, v]) => [k, v.optional()])),
  reference: shipmentFields.reference,
  mode: shipmentFields.mode,
  direction: shipmentFields.direction.default('export'),
  status: shipmentFields.status.default('booked'),
}) as unknown as z.ZodType<ShipmentInput, unknown>;

export const shipmentUpdate = z
  .strictObject(shipmentFields)
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field') as unknown as z.ZodType<Partial<ShipmentInput>, unknown>;

type Fields = { [K in keyof typeof shipmentFields]: z.output<(typeof shipmentFields)[K]> };
export type ShipmentInput = Partial<Fields> & Pick<Fields, 'reference' | 'mode' | 'direction' | 'status'>;

/** API names of the reference lists and the columns that hold them. */
export const REFERENCE_COLUMNS = {
  containers: 'container_numbers',
  awbs: 'awb_numbers',
  hawbs: 'hawb_numbers',
  mbls: 'bl_numbers',
  hbls: 'hbl_numbers',
  bookings: 'booking_numbers',
  poNumbers: 'po_numbers',
  invoiceNumbers: 'invoice_numbers',
} as const;

/** The references that messages name (lib/logistics/identifiers.ts finds these four kinds): what links threads. */
export const LINKING_REFERENCES = ['containers', 'awbs', 'hawbs', 'mbls', 'hbls', 'bookings'] as const;

type Mode = (typeof SHIPMENT_MODES)[number];
const ALL: readonly Mode[] = SHIPMENT_MODES;
const SURFACE: readonly Mode[] = ['sea_fcl', 'sea_lcl', 'road', 'rail', 'multimodal'];
const CONTAINERISED: readonly Mode[] = ['sea_fcl', 'road', 'rail', 'multimodal'];
const AIR: readonly Mode[] = ['air', 'multimodal'];

/** Every milestone code and the modes it belongs to. */
export const MILESTONE_MODES: Readonly<Record<string, readonly Mode[]>> = {
  booking_confirmed: ALL,
  cargo_received: ALL,
  customs_cleared: ALL,
  departed: ALL,
  transshipment: ALL,
  arrived: ALL,
  delivery_order: ALL,
  out_for_delivery: ALL,
  delivered: ALL,
  other: ALL,
  stuffing: SURFACE,
  gate_in: SURFACE,
  loaded: SURFACE,
  discharged: SURFACE,
  gate_out: SURFACE,
  empty_pickup: CONTAINERISED,
  empty_returned: CONTAINERISED,
  // Air: the cargo accepted by the airline (RCS) and on a flight manifest.
  received: AIR,
  manifested: AIR,
};
/** Whether a milestone code belongs to a shipment of this mode (the one rule; the tracking callback skips the others). */
export function milestoneFitsMode(mode: string, code: string): boolean {
  return MILESTONE_MODES[code]?.includes(mode as Mode) ?? false;
}
