import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { importHolidays } from '../../../lib/sla/calendars.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/business-calendars/{id}/holidays – import holidays from an iCalendar file (Content-Type: text/calendar, up to 256 KB)
export const POST = route({ action: 'sla.manage', params: idParams }, ({ ctx, params, request }) => importHolidays(ctx, params.id, request));
