import { analyticsRoute } from '../../lib/analytics/http.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/analytics/volume – messages in and out by channel and by day or hour of the zone (?from&to&tz&groupBy&channel&team&customer&mailbox&format=csv)
export const GET = analyticsRoute('volume');
