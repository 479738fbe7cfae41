import { route } from '../../lib/http/route.js';
import { search, searchQuery } from '../../lib/search/service.js';
import { searchPageWire } from '../../lib/search/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/search – threads whose messages, notes, contact, customer, shipments or documents match q, best first
export const GET = route({ action: 'threads.read', query: searchQuery, customPlans: true, responses: { 200: searchPageWire } }, ({ ctx, query }) =>
  search(ctx, query),
);
