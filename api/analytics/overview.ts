import { analyticsRoute } from '../../lib/analytics/http.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/analytics/overview – the morning summary: messages in and out, first response and resolution times (median, p90), SLA compliance, the backlog by status and age (?from&to&tz&groupBy&channel&team&customer&mailbox&format=csv)
export const GET = analyticsRoute('overview');
