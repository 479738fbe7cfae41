import { analyticsRoute } from '../../lib/analytics/http.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/analytics/agents – per member: messages sent, responses and first responses (median, p90), open threads assigned now (?from&to&tz&groupBy&channel&team&customer&mailbox&format=csv)
export const GET = analyticsRoute('agents');
