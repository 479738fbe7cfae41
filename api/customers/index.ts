import { createCustomer, customerCreate, customerListQuery, listCustomers } from '../../lib/customers/service.js';
import { route } from '../../lib/http/route.js';
import { customerPageWire, customerWire } from '../../lib/customers/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/customers – list customers (search by name, domain, contact email or phone)
export const GET = route({ action: 'customers.read', query: customerListQuery, responses: { 200: customerPageWire } }, ({ ctx, query }) =>
  listCustomers(ctx, query),
);

// POST /api/customers – create a customer
export const POST = route({ action: 'customers.write', body: customerCreate, status: 201, responses: { 201: customerWire } }, ({ ctx, body }) =>
  createCustomer(ctx, body),
);
