import { analyticsRoute } from '../../lib/analytics/http.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/analytics/intents – the intent mix of analysed messages and the sentiment trend by period (?from&to&tz&groupBy&channel&team&customer&mailbox&format=csv)
export const GET = analyticsRoute('intents');
