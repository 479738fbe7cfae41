// Shipments: create, read, edit, delete, and the list with its filters (status, mode, customer, port,
// ETA/ETD, cut-off and free-time windows, a reference in any written form). Creating a shipment, or
// adding a reference to one, links the threads and messages that already name it (lib/shipments/links.ts).
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { AppError, invalid, notFound } from '../errors.js';
import { searchForms } from '../logistics/identifiers.js';
import { requireActiveMember } from '../org/members.js';
import { csvList, decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { recordChange, topics } from '../realtime.js';
import { now } from '../time.js';
import { linkByIdentifiers } from './links.js';
import { portName } from './ports.js';
import {
  LINKING_REFERENCES,
  REFERENCE_COLUMNS,
  SHIPMENT_DIRECTIONS,
  SHIPMENT_MODES,
  SHIPMENT_STATUSES,
  instant,
  milestoneFitsMode,
  unlocode,
  type ShipmentInput,
} from './schemas.js';
import { emitShipmentEvent } from './events.js';
import { enqueueTrackingRegistration } from '../tracking/register.js';

const day = z.iso.date({ error: 'must be a date such as 2027-01-05' });

export const SHIPMENT_SORTS = ['created', 'eta', 'etd', 'cutoff', 'freeTime'] as const;
/** The cut-offs and the last free days (app.shipment_deadlines.kind). */
export const CUTOFF_KINDS = ['si', 'vgm', 'doc', 'cy'] as const;
export const FREE_TIME_KINDS = ['origin', 'demurrage', 'detention'] as const;

export const shipmentListQuery = z.object({
  ...pageQuery,
  status: csvList(z.enum(SHIPMENT_STATUSES)),
  mode: csvList(z.enum(SHIPMENT_MODES)),
  direction: csvList(z.enum(SHIPMENT_DIRECTIONS)),
  customer: z.uuid().optional(),
  /** Origin or destination. */
  port: unlocode.optional(),
  origin: unlocode.optional(),
  destination: unlocode.optional(),
  etaFrom: instant.optional(),
  etaTo: instant.optional(),
  etdFrom: instant.optional(),
  etdTo: instant.optional(),
  /** Any of the cut-offs (SI, VGM, documents, CY; or those of `cutoffKind`) falls in this window. */
  cutoffFrom: instant.optional(),
  cutoffTo: instant.optional(),
  /** Only these cut-offs count for the cut-off window and sort: `si`, `vgm`, `doc`, `cy`. */
  cutoffKind: csvList(z.enum(CUTOFF_KINDS)),
  /** Any of the last free days (origin detention, destination demurrage and detention; or those of `freeTimeKind`) falls in this window (dates, inclusive). */
  freeTimeFrom: day.optional(),
  freeTimeTo: day.optional(),
  /** Only these last free days count for the free-time window and sort: `origin`, `demurrage`, `detention`. */
  freeTimeKind: csvList(z.enum(FREE_TIME_KINDS)),
  /** Any identifier (container, AWB, HAWB, B/L, booking, PO, invoice, job reference) in any written form. */
  ref: z.string().trim().min(1).max(64).optional(),
  /**
   * `created` (newest first, the default), or the earliest `eta`, `etd` first, or the nearest `cutoff` /
   * `freeTime` first: the shipment's first cut-off (last free day) from `cutoffFrom` (`freeTimeFrom`),
   * or from now (today) without one; shipments with none left out.
   */
  sort: z.enum(SHIPMENT_SORTS).default('created'),
});

export type ShipmentListQuery = z.infer<typeof shipmentListQuery>;

export interface Shipment {
  id: string;
  reference: string;
  mode: (typeof SHIPMENT_MODES)[number];
  status: (typeof SHIPMENT_STATUSES)[number];
  eta: Date | null;
  originPort: string | null;
  destinationPort: string | null;
  [key: string]: unknown;
}

/** A shipment's columns (alias `s`) in the API's names. */
export const shipmentColumns = (sql: Ctx['sql']) => sql`
  s.id, s.reference, s.customer_id, c.name as customer_name, s.mode, s.direction, s.status, s.parties,
  s.container_numbers as containers, s.awb_numbers as awbs, s.hawb_numbers as hawbs, s.bl_numbers as mbls,
  s.hbl_numbers as hbls, s.booking_numbers as bookings, s.po_numbers, s.invoice_numbers,
  s.origin_port, s.destination_port, s.incoterm, s.incoterm_place, s.carrier, s.vessel, s.voyage, s.flight,
  s.packages, s.gross_weight_kg::float8 as gross_weight_kg, s.volume_cbm::float8 as volume_cbm, s.container_types, s.cargo_description,
  s.etd, s.eta, s.atd, s.ata, s.si_cutoff_at, s.vgm_cutoff_at, s.doc_cutoff_at, s.cy_cutoff_at, s.next_cutoff_at,
  s.origin_free_days, s.demurrage_free_days, s.detention_free_days, s.empty_pickup_at, s.discharged_at, s.gate_out_at,
  to_char(s.origin_last_free_day, 'YYYY-MM-DD') as origin_last_free_day,
  to_char(s.demurrage_last_free_day, 'YYYY-MM-DD') as demurrage_last_free_day,
  to_char(s.detention_last_free_day, 'YYYY-MM-DD') as detention_last_free_day,
  to_char(s.free_time_ends_on, 'YYYY-MM-DD') as free_time_ends_on,
  s.owner_id, s.created_by, s.created_at, s.updated_at`;

const from = (sql: Ctx['sql']) => sql`from app.shipments s left join app.customers c on c.id = s.customer_id`;

/** Adds the port names of the shipped UN/LOCODE set. */
function withNames<T extends Shipment>(s: T): T & { originName: string | null; destinationName: string | null } {
  return { ...s, originName: portName(s.originPort), destinationName: portName(s.destinationPort) };
}

type Sql = Ctx['sql'];

/**
 * A deadline window over app.shipment_deadlines: cut-offs (instants, `at`, upper bound exclusive) or
 * last free days (dates, `day`, inclusive), of some kinds. `from` is where "nearest" counts from.
 */
interface DeadlineWindow {
  column: 'at' | 'day';
  type: 'timestamptz' | 'date';
  /** An instant or a date; `today` is the organization's today (its time zone). */
  from: string | { today: { orgId: string; now: string } } | undefined;
  to: string | undefined;
  kinds: readonly string[] | undefined;
}

function cutoffWindow(q: ShipmentListQuery, sorting: boolean): DeadlineWindow | null {
  if (!sorting && !q.cutoffFrom && !q.cutoffTo && !q.cutoffKind) return null;
  return { column: 'at', type: 'timestamptz', from: q.cutoffFrom ?? (sorting ? now().toISOString() : undefined), to: q.cutoffTo, kinds: q.cutoffKind };
}

function freeTimeWindow(ctx: Ctx, q: ShipmentListQuery, sorting: boolean): DeadlineWindow | null {
  if (!sorting && !q.freeTimeFrom && !q.freeTimeTo && !q.freeTimeKind) return null;
  const today = { today: { orgId: ctx.orgId, now: now().toISOString() } };
  return { column: 'day', type: 'date', from: q.freeTimeFrom ?? (sorting ? today : undefined), to: q.freeTimeTo, kinds: q.freeTimeKind };
}

/** Today in the organization's time zone, where its last free days are counted. */
function today(sql: Sql, t: { orgId: string; now: string }) {
  return sql`(select (${t.now}::timestamptz at time zone coalesce(o.timezone, 'UTC'))::date from app.organizations o where o.id = ${t.orgId})`;
}

/** The conditions of a window on deadline rows aliased `alias`. */
function inWindow(sql: Sql, alias: string, w: DeadlineWindow) {
  const col = sql.unsafe(`${alias}.${w.column}`);
  const type = sql.unsafe(w.type);
  return sql`${col} is not null
    ${w.from === undefined ? sql`` : typeof w.from === 'string' ? sql`and ${col} >= ${w.from}::${type}` : sql`and ${col} >= ${today(sql, w.from.today)}`}
    ${w.to === undefined ? sql`` : w.column === 'at' ? sql`and ${col} < ${w.to}::${type}` : sql`and ${col} <= ${w.to}::${type}`}
    ${oneOf(sql, `${alias}.kind`, w.kinds)}`;
}

/** A shipment (alias `s`) with any deadline in the window: for filtering when the page is not ordered by it. */
function anyDeadlineIn(sql: Sql, w: DeadlineWindow | null) {
  if (!w) return sql``;
  return sql`and exists (select 1 from app.shipment_deadlines e where e.org_id = s.org_id and e.shipment_id = s.id and ${inWindow(sql, 'e', w)})`;
}

/**
 * Sort orders: what the page is read from, the key selected for the cursor, the filter it needs, the
 * keyset condition, the order. `cutoff` and `freeTime` walk the deadlines in order (index
 * (org_id, at | day, shipment_id)) and keep, per shipment, only its first deadline in the window, so a
 * shipment appears once, at its nearest cut-off (last free day).
 */
function ordering(sql: Sql, sort: ShipmentListQuery['sort'], after: [string, string] | undefined, deadline: DeadlineWindow | null) {
  if (sort === 'created') {
    return {
      source: sql``,
      key: exactInstant(sql, 's.created_at', 'sort_key'),
      where: sql``,
      after: after ? sql`and (s.created_at, s.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``,
      by: sql`order by s.created_at desc, s.id desc`,
    };
  }
  if (sort === 'cutoff' || sort === 'freeTime') {
    const w = deadline!;
    const col = sql.unsafe(`d.${w.column}`);
    return {
      source: sql`app.shipment_deadlines d cross join `,
      key: w.column === 'day' ? sql`to_char(d.day, 'YYYY-MM-DD') as sort_key` : exactInstant(sql, 'd.at', 'sort_key'),
      where: sql`and s.id = d.shipment_id and d.org_id = s.org_id and ${inWindow(sql, 'd', w)}
        and not exists (
          select 1 from app.shipment_deadlines e
          where e.org_id = d.org_id and e.shipment_id = d.shipment_id and ${inWindow(sql, 'e', w)}
            and (${sql.unsafe(`e.${w.column}`)}, e.kind) < (${col}, d.kind))`,
      after: after ? sql`and (${col}, d.shipment_id) > (${after[0]}::${sql.unsafe(w.type)}, ${after[1]}::uuid)` : sql``,
      by: sql`order by ${col}, d.shipment_id`,
    };
  }
  const column = { eta: 's.eta', etd: 's.etd' }[sort];
  return {
    source: sql``,
    key: exactInstant(sql, column, 'sort_key'),
    where: sql`and ${sql.unsafe(column)} is not null`,
    after: after ? sql`and (${sql.unsafe(column)}, s.id) > (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``,
    by: sql`order by ${sql.unsafe(column)}, s.id`,
  };
}

const cursorShape = z.tuple([z.string().min(1).max(40), z.uuid()]);

function oneOf(sql: Ctx['sql'], column: string, values: readonly string[] | undefined) {
  if (!values) return sql``;
  return values.length === 1 ? sql`and ${sql.unsafe(column)} = ${values[0]!}` : sql`and ${sql.unsafe(column)} = any(${values as string[]}::text[])`;
}

/**
 * The shipments whose identifiers match a typed reference, found through the GIN index by
 * app.shipment_ids_by_identifier (under RLS the array operator in the list statement could not use
 * it; the function's estimate of a few rows makes the planner read the page among those ids, as the
 * inbox list does with a subject search). Every match counts, however many.
 */
function byReference(sql: Sql, ref: string | undefined) {
  return ref ? sql`and s.id in (select f.id from app.shipment_ids_by_identifier(${searchForms(ref)}::text[]) f)` : sql``;
}

export async function listShipments(ctx: Ctx, q: ShipmentListQuery) {
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, cursorShape);
  const keyOf = (r: Shipment) => [r.sortKey, r.id];
  const cutoffs = cutoffWindow(q, q.sort === 'cutoff');
  const freeTime = freeTimeWindow(ctx, q, q.sort === 'freeTime');
  const order = ordering(sql, q.sort, after, q.sort === 'cutoff' ? cutoffs : q.sort === 'freeTime' ? freeTime : null);
  const rows = await sql<Shipment[]>`
    select ${shipmentColumns(sql)}, ${order.key}
    from ${order.source}app.shipments s left join app.customers c on c.id = s.customer_id
    where s.org_id = ${ctx.orgId}
      ${oneOf(sql, 's.status', q.status)}
      ${oneOf(sql, 's.mode', q.mode)}
      ${oneOf(sql, 's.direction', q.direction)}
      ${q.customer ? sql`and s.customer_id = ${q.customer}` : sql``}
      ${q.port ? sql`and (s.origin_port = ${q.port} or s.destination_port = ${q.port})` : sql``}
      ${q.origin ? sql`and s.origin_port = ${q.origin}` : sql``}
      ${q.destination ? sql`and s.destination_port = ${q.destination}` : sql``}
      ${q.etaFrom ? sql`and s.eta >= ${q.etaFrom}::timestamptz` : sql``}
      ${q.etaTo ? sql`and s.eta < ${q.etaTo}::timestamptz` : sql``}
      ${q.etdFrom ? sql`and s.etd >= ${q.etdFrom}::timestamptz` : sql``}
      ${q.etdTo ? sql`and s.etd < ${q.etdTo}::timestamptz` : sql``}
      ${q.sort === 'cutoff' ? sql`` : anyDeadlineIn(sql, cutoffs)}
      ${q.sort === 'freeTime' ? sql`` : anyDeadlineIn(sql, freeTime)}
      ${byReference(sql, q.ref)}
      ${order.where}
      ${order.after}
    ${order.by}
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, keyOf);
  return { ...page, data: page.data.map(({ sortKey: _s, ...s }) => withNames(s as Shipment)) };
}

/** One shipment as the API answers it (`lock`: its row locked for an update first). */
export async function getShipment(ctx: Ctx, id: string, lock = false) {
  const sql = ctx.sql;
  if (lock) {
    const [locked] = await sql`select id from app.shipments where id = ${id} and org_id = ${ctx.orgId} for update`;
    if (!locked) throw notFound('Shipment');
  }
  const [shipment] = await sql<Shipment[]>`select ${shipmentColumns(sql)} ${from(sql)} where s.id = ${id} and s.org_id = ${ctx.orgId}`;
  if (!shipment) throw notFound('Shipment');
  return withNames(shipment);
}

/** Customers named by the shipment (its customer, parties given as customers) must be live customers of the organization. */
async function checkCustomers(ctx: Ctx, input: Partial<ShipmentInput>) {
  const named: Array<[string, string]> = [];
  if (input.customerId) named.push(['body.customerId', input.customerId]);
  for (const [role, p] of Object.entries(input.parties ?? {})) {
    if (p && 'customerId' in p) named.push([`body.parties.${role}.customerId`, p.customerId]);
  }
  if (!named.length) return;
  const found = await ctx.sql<{ id: string }[]>`
    select id from app.customers where org_id = ${ctx.orgId} and deleted_at is null and id = any(${named.map(([, id]) => id)}::uuid[])`;
  const live = new Set(found.map((r) => r.id));
  const missing = named.find(([, id]) => !live.has(id));
  if (missing) throw invalid(missing[0], 'is not a customer of this organization');
}

/** A shipment keeps its milestones' modes apart: a new mode is refused while milestones of another mode remain. */
async function checkModeChange(ctx: Ctx, id: string, mode: ShipmentInput['mode']) {
  const rows = await ctx.sql<{ code: string }[]>`
    select distinct code from app.shipment_milestones where org_id = ${ctx.orgId} and shipment_id = ${id} order by code`;
  const misfits = rows.map((r) => r.code).filter((code) => !milestoneFitsMode(mode, code));
  if (misfits.length) {
    throw new AppError('conflict', `The shipment has milestones that a ${mode} shipment cannot have: ${misfits.join(', ')}`, {
      issues: [{ path: 'body.mode', message: `milestones ${misfits.join(', ')} are not of a ${mode} shipment: delete them first` }],
    });
  }
}

/** Input fields as columns: the reference lists under their column names, the rest as they are. */
function toColumns(input: Partial<ShipmentInput>) {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const column = (REFERENCE_COLUMNS as Record<string, string>)[key];
    out[column ?? key] = value;
  }
  return out;
}

/** The linking references of a shipment (or an input), flat. */
function linkingIdentifiers(s: Partial<Record<(typeof LINKING_REFERENCES)[number], string[]>>): string[] {
  return LINKING_REFERENCES.flatMap((k) => s[k] ?? []);
}

function duplicateReference(error: unknown, reference: string | undefined): never {
  if (
    reference !== undefined &&
    (error as { code?: string }).code === '23505' &&
    String((error as { constraint_name?: string }).constraint_name ?? '').includes('reference')
  ) {
    throw new AppError('conflict', `Another shipment already has the reference ${reference}`, {
      issues: [{ path: 'body.reference', message: 'is already the reference of another shipment' }],
    });
  }
  throw error;
}

export async function createShipment(ctx: Ctx, input: ShipmentInput) {
  const sql = ctx.sql;
  await checkCustomers(ctx, input);
  if (input.ownerId) await requireActiveMember(ctx, input.ownerId, 'body.ownerId');
  const columns: Record<string, unknown> = { ...toColumns(input), orgId: ctx.orgId, createdBy: ctx.userId };
  if (input.parties) columns.parties = sql.json(input.parties as never);
  const [row] = await sql<{ id: string }[]>`
    insert into app.shipments ${sql(columns as never)} returning id`.catch((e: unknown) => duplicateReference(e, input.reference));
  const shipment = await getShipment(ctx, row!.id);
  await recordChange(ctx, {
    event: 'shipment.created',
    topics: [topics.org(ctx.orgId), topics.shipment(ctx.orgId, shipment.id)],
    data: shipment,
    audit: { entityType: 'shipment', entityId: shipment.id, data: input },
  });
  await linkByIdentifiers(ctx, shipment.id, linkingIdentifiers(input));
  if (input.containers?.length || input.mbls?.length || input.bookings?.length) await enqueueTrackingRegistration(ctx, shipment.id);
  return shipment;
}

export async function updateShipment(ctx: Ctx, id: string, input: Partial<ShipmentInput>) {
  const sql = ctx.sql;
  const before = await getShipment(ctx, id, true);
  if (input.mode !== undefined && input.mode !== before.mode) await checkModeChange(ctx, id, input.mode);
  await checkCustomers(ctx, input);
  if (input.ownerId) await requireActiveMember(ctx, input.ownerId, 'body.ownerId');
  const columns = toColumns(input);
  if (input.parties) columns.parties = sql.json(input.parties as never);
  await sql`update app.shipments set ${sql(columns as never)} where id = ${id} and org_id = ${ctx.orgId}`.catch((e: unknown) =>
    duplicateReference(e, input.reference),
  );
  const shipment = await getShipment(ctx, id);
  await recordChange(ctx, {
    event: 'shipment.updated',
    topics: [topics.org(ctx.orgId), topics.shipment(ctx.orgId, id)],
    data: shipment,
    audit: { entityType: 'shipment', entityId: id, data: input },
  });
  const had = new Set(linkingIdentifiers(before as never));
  const added = linkingIdentifiers(shipment as never).filter((v) => !had.has(v));
  await linkByIdentifiers(ctx, id, added);
  const trackable = new Set([shipment.containers, shipment.mbls, shipment.bookings].flat() as string[]);
  // A new number to register, or a carrier that may give the SCAC numbers skipped before lacked.
  const carrierChanged = input.carrier !== undefined && before.carrier !== shipment.carrier && trackable.size > 0;
  if (added.some((v) => trackable.has(v)) || carrierChanged) await enqueueTrackingRegistration(ctx, id);
  if (input.eta !== undefined && (before.eta?.getTime() ?? null) !== (shipment.eta?.getTime() ?? null)) {
    await emitShipmentEvent(ctx, { event: 'shipment.eta_changed', shipmentId: id, previousEta: before.eta, eta: shipment.eta });
  }
  return shipment;
}

export async function deleteShipment(ctx: Ctx, id: string): Promise<null> {
  const [row] = await ctx.sql`delete from app.shipments where id = ${id} and org_id = ${ctx.orgId} returning id`;
  if (!row) throw notFound('Shipment');
  await recordChange(ctx, {
    event: 'shipment.deleted',
    topics: [topics.org(ctx.orgId), topics.shipment(ctx.orgId, id)],
    data: { id },
    audit: { entityType: 'shipment', entityId: id },
  });
  return null;
}
