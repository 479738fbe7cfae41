import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { importHolidays } from '../../../lib/sla/calendars.js';
import { holidayImportWire } from '../../../lib/sla/wire.js';
import { rawBody } from '../../../lib/http/responses.js';

const icalendarBody = rawBody('text/calendar', 'an iCalendar file (up to 256 KB) whose all-day events become holidays');

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/business-calendars/{id}/holidays – import holidays from an iCalendar file (Content-Type: text/calendar, up to 256 KB)
export const POST = route(
  { action: 'sla.manage', params: idParams, rawBody: icalendarBody, responses: { 200: holidayImportWire } },
  ({ ctx, params, request }) => importHolidays(ctx, params.id, request),
);
