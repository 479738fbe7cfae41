import { createCustomer, customerCreate, listCustomers } from '../../lib/customers/service.js';
import { customerListOrSyncQuery, syncCustomers } from '../../lib/customers/sync.js';
import { route } from '../../lib/http/route.js';
import { isSync } from '../../lib/sync.js';
import { customerPageWire, customerWire } from '../../lib/customers/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/customers – list customers (search by name, domain, contact email or phone); with updatedSince, what changed since
export const GET = route({ action: 'customers.read', query: customerListOrSyncQuery, responses: { 200: customerPageWire } }, ({ ctx, query }) =>
  isSync(query) ? syncCustomers(ctx, query) : listCustomers(ctx, query),
);

// POST /api/customers – create a customer
export const POST = route({ action: 'customers.write', body: customerCreate, status: 201, responses: { 201: customerWire } }, ({ ctx, body }) =>
  createCustomer(ctx, body),
);
