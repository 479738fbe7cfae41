// The variables a reply template sees: the thread, its customer and contact, its shipment, the member
// replying, the organization, and the template's own declared variables (filled by the reply). Each
// source is one entry of VARIABLE_SOURCES, with its schema and one query.
import type { Ctx } from '../context.js';
import { Html, type Value, type Values, type VariableSchema } from './render.js';

const text: VariableSchema = { kind: 'text' };
const object = (fields: Record<string, VariableSchema>): VariableSchema => ({ kind: 'object', fields });
const texts = (...names: string[]) => Object.fromEntries(names.map((n) => [n, text]));

/** Where a template's variables come from, for the thread replied on and the member replying. */
export interface VariableSource {
  name: string;
  schema: VariableSchema;
  load(ctx: Ctx, threadId: string): Promise<Value>;
}

/** First and last name of a person's full name: "Karthik S. Iyer" is Karthik and Iyer. */
function nameParts(name: string | null | undefined) {
  const parts = (name ?? '').trim().split(/\s+/).filter(Boolean);
  return { firstName: parts[0] ?? null, lastName: parts.length > 1 ? parts[parts.length - 1]! : null };
}

const threadSource: VariableSource = {
  name: 'thread',
  schema: object({ ...texts('id', 'subject', 'status', 'priority', 'channel', 'reference'), tags: { kind: 'list', item: text } }),
  async load(ctx, threadId) {
    const [t] = await ctx.sql<{ id: string; subject: string; status: string; priority: string; channel: string; tags: string[] }[]>`
      select id, subject, status, priority, channel, tags from app.threads where id = ${threadId} and org_id = ${ctx.orgId}`;
    if (!t) return null;
    const { subjectTag } = await import('../email/threading.js');
    return { ...t, subject: t.subject || null, reference: subjectTag(t.id).slice(2, -1) };
  },
};

const customerSource: VariableSource = {
  name: 'customer',
  schema: object(texts('name', 'kind', 'tier', 'city', 'country')),
  async load(ctx, threadId) {
    const [c] = await ctx.sql<Record<string, string | null>[]>`
      select c.name, c.kind, c.tier, c.city, c.country from app.threads t join app.customers c on c.id = t.customer_id
      where t.id = ${threadId} and t.org_id = ${ctx.orgId}`;
    return c ?? null;
  },
};

const contactSource: VariableSource = {
  name: 'contact',
  schema: object(texts('name', 'firstName', 'lastName', 'email', 'phone', 'whatsapp', 'designation')),
  async load(ctx, threadId) {
    const [c] = await ctx.sql<{ name: string; email: string | null; phone: string | null; whatsapp: string | null; designation: string | null }[]>`
      select k.name, k.email, k.phone, k.whatsapp, k.designation from app.threads t join app.contacts k on k.id = t.contact_id
      where t.id = ${threadId} and t.org_id = ${ctx.orgId}`;
    return c ? { ...c, name: c.name || null, ...nameParts(c.name) } : null;
  },
};

/**
 * The thread's shipment: the one linked by hand, else the latest linked (never a rejected link).
 * Identifiers as comma-separated text (`{{shipment.containers}}` reads "MSKU1234565, TGHU…"); ports as
 * UN/LOCODE with their names where known; ETD and ETA as dates in the organization's time zone.
 */
const shipmentSource: VariableSource = {
  name: 'shipment',
  schema: object(
    texts(
      'reference',
      'mode',
      'status',
      'containers',
      'billsOfLading',
      'bookings',
      'awbs',
      'vessel',
      'voyage',
      'flight',
      'origin',
      'originName',
      'destination',
      'destinationName',
      'etd',
      'eta',
    ),
  ),
  async load(ctx, threadId) {
    const [s] = await ctx.sql<
      {
        reference: string;
        mode: string;
        status: string;
        containerNumbers: string[];
        blNumbers: string[];
        bookingNumbers: string[];
        awbNumbers: string[];
        vessel: string | null;
        voyage: string | null;
        flight: string | null;
        originPort: string | null;
        destinationPort: string | null;
        etd: string | null;
        eta: string | null;
      }[]
    >`
      select s.reference, s.mode, s.status, s.container_numbers, s.bl_numbers, s.booking_numbers, s.awb_numbers, s.vessel, s.voyage,
        s.flight, s.origin_port, s.destination_port,
        to_char(s.etd at time zone coalesce(o.timezone, 'UTC'), 'YYYY-MM-DD') as etd,
        to_char(s.eta at time zone coalesce(o.timezone, 'UTC'), 'YYYY-MM-DD') as eta
      from app.thread_shipments ts
      join app.shipments s on s.id = ts.shipment_id and s.org_id = ts.org_id
      join app.organizations o on o.id = s.org_id
      where ts.org_id = ${ctx.orgId} and ts.thread_id = ${threadId} and ts.link_source <> 'rejected'
      order by (ts.link_source = 'manual') desc, ts.created_at desc, s.id
      limit 1`;
    if (!s) return null;
    const { portName } = await import('../shipments/ports.js');
    const joined = (list: string[]) => (list.length ? list.join(', ') : null);
    return {
      reference: s.reference,
      mode: s.mode,
      status: s.status,
      containers: joined(s.containerNumbers),
      billsOfLading: joined(s.blNumbers),
      bookings: joined(s.bookingNumbers),
      awbs: joined(s.awbNumbers),
      vessel: s.vessel,
      voyage: s.voyage,
      flight: s.flight,
      origin: s.originPort,
      originName: portName(s.originPort),
      destination: s.destinationPort,
      destinationName: portName(s.destinationPort),
      etd: s.etd,
      eta: s.eta,
    };
  },
};

const memberSource: VariableSource = {
  name: 'member',
  schema: object({ ...texts('name', 'firstName', 'email', 'phone', 'jobTitle'), signature: { kind: 'html' } }),
  async load(ctx) {
    if (!ctx.userId) return null;
    const [m] = await ctx.sql<{ name: string; email: string | null; phone: string | null; jobTitle: string | null; signatureHtml: string | null }[]>`
      select display_name as name, email, phone, job_title, signature_html from app.members where org_id = ${ctx.orgId} and user_id = ${ctx.userId}`;
    if (!m) return null;
    let signature: Html | null = null;
    if (m.signatureHtml?.trim()) {
      const { htmlToText } = await import('../email/html.js');
      signature = new Html(m.signatureHtml, htmlToText(m.signatureHtml));
    }
    return { name: m.name || null, firstName: nameParts(m.name).firstName, email: m.email, phone: m.phone, jobTitle: m.jobTitle, signature };
  },
};

const organizationSource: VariableSource = {
  name: 'organization',
  schema: object(texts('name', 'signature')),
  async load(ctx) {
    const [o] = await ctx.sql<{ name: string; signature: string | null }[]>`select name, signature from app.organizations where id = ${ctx.orgId}`;
    return o ?? null;
  },
};

/** Every source a template may read from. */
export const VARIABLE_SOURCES: readonly VariableSource[] = [threadSource, customerSource, contactSource, shipmentSource, memberSource, organizationSource];

/** Names a template may declare for itself: not those of a source. */
export const RESERVED_NAMES = new Set(VARIABLE_SOURCES.map((s) => s.name));

/** The schema of a template's variables: the sources and its own declared ones (text). */
export function templateSchema(declared: readonly string[]): VariableSchema {
  return object({ ...Object.fromEntries(VARIABLE_SOURCES.map((s) => [s.name, s.schema])), ...texts(...declared) });
}

const nullObject = () => Object.create(null) as Values;

/** Copies loaded rows into null-prototype objects holding exactly the schema's fields. */
function shape(schema: VariableSchema, value: unknown): Value {
  if (value === undefined || value === null) return null;
  if (schema.kind === 'html') return value instanceof Html ? value : null;
  if (schema.kind === 'text') return value instanceof Date ? value.toISOString() : String(value);
  if (schema.kind === 'list') return Array.isArray(value) ? value.map((v) => shape(schema.item, v)) : null;
  const out = nullObject();
  for (const [key, field] of Object.entries(schema.fields)) out[key] = shape(field, (value as Record<string, unknown>)[key]);
  return out;
}

/**
 * The values for a reply on the thread by the acting member. `given`: the reply's own values, by
 * variable name (a declared variable, or a source's field such as `contact.firstName` to fill one the
 * thread lacks; isTextVariable checked each); a given value replaces the loaded one. A group the thread
 * lacks (no contact) is made with every field of its schema, null but the given ones: mustache finds
 * each name there, as the analysis does, never in an outer scope.
 */
export async function templateValues(ctx: Ctx, threadId: string, declared: readonly string[], given: Record<string, string> = {}): Promise<Values> {
  const loaded = await Promise.all(VARIABLE_SOURCES.map((s) => s.load(ctx, threadId)));
  const values = nullObject();
  VARIABLE_SOURCES.forEach((s, i) => (values[s.name] = shape(s.schema, loaded[i])));
  for (const name of declared) values[name] = null;
  const schema = templateSchema(declared);
  for (const [path, value] of Object.entries(given)) {
    const parts = path.split('.');
    let target = values;
    let node = schema;
    for (const part of parts.slice(0, -1)) {
      if (node.kind !== 'object' || !Object.hasOwn(node.fields, part)) throw new Error(`${path} is not a variable of the template`);
      node = node.fields[part]!;
      if (!target[part] || typeof target[part] !== 'object' || Array.isArray(target[part])) target[part] = shape(node, {});
      target = target[part] as Values;
    }
    target[parts[parts.length - 1]!] = value;
  }
  return values;
}

/** Whether `path` names a text variable of the schema (what a reply may give a value for). */
export function isTextVariable(schema: VariableSchema, path: string): boolean {
  let node: VariableSchema | undefined = schema;
  for (const part of path.split('.')) {
    if (node?.kind !== 'object' || !Object.hasOwn(node.fields, part)) return false;
    node = node.fields[part];
  }
  return node?.kind === 'text';
}
