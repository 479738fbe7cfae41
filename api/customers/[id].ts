import { customerUpdate, deleteCustomer, getCustomer, updateCustomer } from '../../lib/customers/service.js';
import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { customerDetailWire, customerWire } from '../../lib/customers/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/customers/{id} – a customer with its contacts
export const GET = route({ action: 'customers.read', params: idParams, responses: { 200: customerDetailWire } }, ({ ctx, params }) =>
  getCustomer(ctx, params.id),
);

// PATCH /api/customers/{id} – edit a customer
export const PATCH = route({ action: 'customers.write', params: idParams, body: customerUpdate, responses: { 200: customerWire } }, ({ ctx, params, body }) =>
  updateCustomer(ctx, params.id, body),
);

// DELETE /api/customers/{id} – delete (soft) a customer
export const DELETE = route({ action: 'customers.delete', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteCustomer(ctx, params.id));
