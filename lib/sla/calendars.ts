// Business-hours calendars (/api/business-calendars): a time zone, weekly hours (several intervals a
// day: split shifts, Saturday half-days) and named holidays, typed in or imported from an iCalendar
// file (all-day events; recurring ones expanded for the next three years). Each organization has one
// default calendar, made with it; SLA policies without a calendar of their own use it.
import ICAL from 'ical.js';
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { AppError, conflict, invalid, notFound } from '../errors.js';
import { readBody } from '../http/route.js';
import { recordChange, topics, type EventsOf } from '../realtime.js';
import { BusinessCalendar, minuteOfDay, type MinuteInterval } from './business-time.js';
import { scheduleRecompute } from './clock.js';

const TIME = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const time = z.string().regex(TIME, 'must be a time of day, HH:MM (00:00 to 24:00)');

export const calendarHours = z
  .array(
    z
      .strictObject({ day: z.int().min(1, 'must be 1 (Monday) to 7 (Sunday)').max(7, 'must be 1 (Monday) to 7 (Sunday)'), start: time, end: time })
      .refine((h) => !TIME.test(h.start) || !TIME.test(h.end) || minuteOfDay(h.end) > minuteOfDay(h.start), {
        message: 'must end after it starts',
        path: ['end'],
      }),
  )
  .max(70);

const timeZone = z
  .string()
  .trim()
  .max(64)
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be an IANA time zone such as Asia/Kolkata or Europe/Berlin' },
  );

const holiday = z.strictObject({ date: z.iso.date('must be a date, YYYY-MM-DD'), name: z.string().trim().max(200).default('') });

export const calendarCreate = z.strictObject({
  name: z.string().trim().min(1).max(100),
  timezone: timeZone,
  hours: calendarHours,
  /** The calendar's typed-in holidays; imported ones are added with POST …/holidays. */
  holidays: z.array(holiday).max(1000).default([]),
  isDefault: z.boolean().default(false),
});

export const calendarUpdate = z
  .strictObject({
    name: calendarCreate.shape.name,
    timezone: timeZone,
    hours: calendarHours,
    holidays: z.array(holiday).max(1000),
    isDefault: z.literal(true, { error: 'can only be set to true: make another calendar the default instead' }),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'must change at least one field' });

export interface CalendarRow {
  id: string;
  name: string;
  timezone: string;
  hours: { day: number; start: string; end: string }[];
  isDefault: boolean;
  holidays: { date: string; name: string; source: 'manual' | 'ical' }[];
  updatedAt: Date;
}

const select = (ctx: Ctx) => ctx.sql`
  select c.id, c.name, c.timezone, c.hours, c.is_default, c.created_at, c.updated_at,
    coalesce((select jsonb_agg(jsonb_build_object('date', h.date, 'name', h.name, 'source', h.source) order by h.date)
              from app.business_calendar_holidays h where h.calendar_id = c.id), '[]'::jsonb) as holidays
  from app.business_calendars c`;

export async function listCalendars(ctx: Ctx) {
  const data = await ctx.sql<CalendarRow[]>`${select(ctx)} where c.org_id = ${ctx.orgId} order by c.is_default desc, c.name limit 200`;
  return { data, nextCursor: null };
}

export async function getCalendar(ctx: Ctx, id: string): Promise<CalendarRow> {
  const [row] = await ctx.sql<CalendarRow[]>`${select(ctx)} where c.org_id = ${ctx.orgId} and c.id = ${id}`;
  if (!row) throw notFound('Business calendar');
  return row;
}

/** The organization's default calendar. */
export async function defaultCalendar(ctx: Ctx): Promise<CalendarRow> {
  const [row] = await ctx.sql<CalendarRow[]>`${select(ctx)} where c.org_id = ${ctx.orgId} and c.is_default`;
  if (!row) throw new AppError('internal', 'The organization has no default business calendar');
  return row;
}

async function makeDefault(ctx: Ctx, id: string) {
  await ctx.sql`update app.business_calendars set is_default = false where org_id = ${ctx.orgId} and is_default and id <> ${id}`;
  await ctx.sql`update app.business_calendars set is_default = true where org_id = ${ctx.orgId} and id = ${id}`;
}

async function replaceManualHolidays(ctx: Ctx, id: string, holidays: z.infer<typeof holiday>[]) {
  await ctx.sql`delete from app.business_calendar_holidays where calendar_id = ${id} and source = 'manual'`;
  await storeHolidays(ctx, id, holidays, 'manual');
}

async function storeHolidays(ctx: Ctx, id: string, holidays: { date: string; name: string }[], source: 'manual' | 'ical') {
  if (holidays.length === 0) return;
  const rows = holidays.map((h) => ({ orgId: ctx.orgId, calendarId: id, date: h.date, name: h.name, source }));
  await ctx.sql`
    insert into app.business_calendar_holidays ${ctx.sql(rows as never, 'orgId', 'calendarId', 'date', 'name', 'source')}
    on conflict (calendar_id, date) do update set name = case when excluded.name = '' then app.business_calendar_holidays.name else excluded.name end,
      source = excluded.source`;
}

async function announce(ctx: Ctx, event: EventsOf<'business_calendar'>, id: string, input?: unknown) {
  const calendar = await getCalendar(ctx, id);
  // Due times are counted on calendars: the organization's clocks are recomputed by a job (lib/sla/clock.ts).
  await scheduleRecompute(ctx);
  await recordChange(ctx, { event, topics: [topics.org(ctx.orgId)], data: calendar, audit: { entityType: 'business_calendar', entityId: id, data: input } });
  return calendar;
}

export async function createCalendar(ctx: Ctx, input: z.infer<typeof calendarCreate>) {
  const [row] = await ctx.sql<{ id: string }[]>`
    insert into app.business_calendars (org_id, name, timezone, hours)
    values (${ctx.orgId}, ${input.name}, ${input.timezone}, ${ctx.sql.json(input.hours as never)}) returning id`;
  await storeHolidays(ctx, row!.id, dedupeDates(input.holidays, 'body.holidays'), 'manual');
  if (input.isDefault) await makeDefault(ctx, row!.id);
  return announce(ctx, 'business_calendar.created', row!.id, input);
}

export async function updateCalendar(ctx: Ctx, id: string, input: z.infer<typeof calendarUpdate>) {
  await getCalendar(ctx, id);
  const { holidays, isDefault, hours, ...fields } = input;
  const set = { ...fields, ...(hours ? { hours: ctx.sql.json(hours as never) } : {}) };
  if (Object.keys(set).length) await ctx.sql`update app.business_calendars set ${ctx.sql(set as never)} where id = ${id} and org_id = ${ctx.orgId}`;
  else await ctx.sql`update app.business_calendars set updated_at = now() where id = ${id}`;
  if (holidays) await replaceManualHolidays(ctx, id, dedupeDates(holidays, 'body.holidays'));
  if (isDefault) await makeDefault(ctx, id);
  return announce(ctx, 'business_calendar.updated', id, input);
}

export async function deleteCalendar(ctx: Ctx, id: string) {
  const calendar = await getCalendar(ctx, id);
  if (calendar.isDefault) throw conflict('The default calendar cannot be deleted: make another calendar the default first');
  const users = await ctx.sql<{ name: string }[]>`select name from app.sla_policies where org_id = ${ctx.orgId} and calendar_id = ${id} order by name limit 5`;
  if (users.length) throw conflict(`The calendar is used by SLA policies (${users.map((u) => u.name).join(', ')}): give them another calendar first`);
  await ctx.sql`delete from app.business_calendars where id = ${id} and org_id = ${ctx.orgId}`;
  await recordChange(ctx, {
    event: 'business_calendar.deleted',
    topics: [topics.org(ctx.orgId)],
    data: { id },
    audit: { entityType: 'business_calendar', entityId: id },
  });
  return null;
}

function dedupeDates<T extends { date: string }>(holidays: T[], path: string): T[] {
  const seen = new Set<string>();
  holidays.forEach((h, i) => {
    if (seen.has(h.date)) throw invalid(`${path}.${i}.date`, `${h.date} is listed twice`);
    seen.add(h.date);
  });
  return holidays;
}

/** The largest iCalendar file taken (a country's public holidays for decades fit well within it). */
export const ICALENDAR_MAX_BYTES = 256 * 1024;
/** How far ahead recurring holidays are expanded. */
const EXPAND_YEARS = 3;
/** Dates kept from one import. */
const MAX_IMPORTED = 2000;

/**
 * The holidays of an iCalendar file: its all-day events (each day of a multi-day one), with recurring
 * ones (RRULE, minus EXDATEs) expanded from a year ago to three years ahead. Timed events are not
 * holidays and are counted as skipped.
 */
export function holidaysFromICalendar(text: string, now = new Date()): { holidays: { date: string; name: string }[]; skipped: number } {
  let root: ICAL.Component;
  try {
    root = new ICAL.Component(ICAL.parse(text) as unknown[]);
  } catch (error) {
    throw invalid('body', `is not an iCalendar file: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (root.name !== 'vcalendar') throw invalid('body', `is a ${root.name.toUpperCase()}, not a VCALENDAR`);
  const from = ICAL.Time.fromJSDate(new Date(Date.UTC(now.getUTCFullYear() - 1, now.getUTCMonth(), now.getUTCDate())), true);
  const until = ICAL.Time.fromJSDate(new Date(Date.UTC(now.getUTCFullYear() + EXPAND_YEARS, now.getUTCMonth(), now.getUTCDate())), true);
  const found = new Map<string, string>();
  let skipped = 0;
  const add = (start: ICAL.Time, days: number, name: string) => {
    for (let i = 0; i < days && found.size < MAX_IMPORTED; i++) {
      const d = start.clone();
      d.adjust(i, 0, 0, 0);
      const date = d.toString().slice(0, 10);
      if (!found.has(date)) found.set(date, name);
    }
  };
  for (const component of root.getAllSubcomponents('vevent')) {
    const event = new ICAL.Event(component);
    const start = event.startDate ? allDay(event.startDate) : null;
    const end = event.endDate ? allDay(event.endDate) : null;
    // Outlook and Exchange may write an all-day event as local midnight to midnight, flagged as such.
    const flagged = /^true$/i.test(String(component.getFirstPropertyValue('x-microsoft-cdo-alldayevent') ?? ''));
    if (!start || (!event.startDate.isDate && !(flagged && end))) {
      skipped++;
      continue;
    }
    const name = (event.summary ?? '').trim().slice(0, 200);
    // DTEND of an all-day event is exclusive; a missing one means one day.
    const days = end ? Math.min(31, Math.max(1, end.subtractDate(start).toSeconds() / 86_400)) : 1;
    if (event.isRecurring()) {
      const it = event.iterator();
      for (let next = it.next(), n = 0; next && next.compare(until) <= 0 && n < 5000; next = it.next(), n++) {
        const day = allDay(next);
        if (day && day.compare(from) >= 0) add(day, days, name);
      }
    } else add(start, days, name);
  }
  return { holidays: [...found].map(([date, name]) => ({ date, name })).sort((a, b) => a.date.localeCompare(b.date)), skipped };
}

/**
 * The day of an all-day start or end: a DATE, or a date-time at local midnight (in its own TZID or
 * floating; midnight in UTC is not a local day). Null for any other time.
 */
function allDay(t: ICAL.Time): ICAL.Time | null {
  if (t.isDate) return t;
  if (t.hour !== 0 || t.minute !== 0 || t.second !== 0 || t.zone === ICAL.Timezone.utcTimezone) return null;
  return ICAL.Time.fromData({ year: t.year, month: t.month, day: t.day, isDate: true });
}

/** POST /api/business-calendars/{id}/holidays with an iCalendar body: adds (or renames) its holidays. */
export async function importHolidays(ctx: Ctx, id: string, request: Request) {
  await getCalendar(ctx, id);
  if (!/^text\/calendar\b/i.test(request.headers.get('content-type') ?? '')) {
    throw new AppError('unsupported_media_type', 'Send the iCalendar file itself, with Content-Type: text/calendar');
  }
  const { holidays, skipped } = holidaysFromICalendar(await readBody(request, ICALENDAR_MAX_BYTES));
  await storeHolidays(ctx, id, holidays, 'ical');
  await ctx.sql`update app.business_calendars set updated_at = now() where id = ${id}`;
  const calendar = await announce(ctx, 'business_calendar.updated', id, { imported: holidays.length, skipped });
  return { imported: holidays.length, skipped, calendar };
}

/** The arithmetic form of a calendar row. */
export function businessCalendarOf(row: Pick<CalendarRow, 'timezone' | 'hours' | 'holidays'>): BusinessCalendar {
  const weekly: MinuteInterval[][] = Array.from({ length: 8 }, () => []);
  for (const h of row.hours) weekly[h.day]!.push([minuteOfDay(h.start), minuteOfDay(h.end)]);
  return new BusinessCalendar({ timezone: row.timezone, weekly, holidays: row.holidays.map((h) => h.date) });
}
