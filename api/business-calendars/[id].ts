import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { calendarUpdate, deleteCalendar, getCalendar, updateCalendar } from '../../lib/sla/calendars.js';
import { businessCalendarWire } from '../../lib/sla/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/business-calendars/{id} – one calendar
export const GET = route({ action: 'org.read', params: idParams, responses: { 200: businessCalendarWire } }, ({ ctx, params }) => getCalendar(ctx, params.id));

// PATCH /api/business-calendars/{id} – change its name, zone, hours or typed-in holidays, or make it the default
export const PATCH = route(
  { action: 'sla.manage', params: idParams, body: calendarUpdate, responses: { 200: businessCalendarWire } },
  ({ ctx, params, body }) => updateCalendar(ctx, params.id, body),
);

// DELETE /api/business-calendars/{id} – delete a calendar no policy uses (not the default: 409)
export const DELETE = route({ action: 'sla.manage', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteCalendar(ctx, params.id));
