import { route } from '../../lib/http/route.js';
import { calendarCreate, createCalendar, listCalendars } from '../../lib/sla/calendars.js';
import { businessCalendarListWire, businessCalendarWire } from '../../lib/sla/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/business-calendars – business-hours calendars with their holidays, the default first
export const GET = route({ action: 'org.read', responses: { 200: businessCalendarListWire } }, ({ ctx }) => listCalendars(ctx));

// POST /api/business-calendars – a calendar: time zone, weekly hours, holidays
export const POST = route({ action: 'sla.manage', body: calendarCreate, status: 201, responses: { 201: businessCalendarWire } }, ({ ctx, body }) =>
  createCalendar(ctx, body),
);
