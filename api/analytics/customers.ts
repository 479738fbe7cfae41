import { analyticsRoute } from '../../lib/analytics/http.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/analytics/customers – the busiest customers: messages in and out and how fast they were answered (?from&to&tz&groupBy&channel&team&customer&mailbox&format=csv)
export const GET = analyticsRoute('customers');
