import { contactUpdate, deleteContact, getContact, updateContact } from '../../lib/contacts/service.js';
import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/contacts/{id} – one contact
export const GET = route({ action: 'customers.read', params: idParams }, ({ ctx, params }) => getContact(ctx, params.id));

// PATCH /api/contacts/{id} – edit a contact
export const PATCH = route({ action: 'customers.write', params: idParams, body: contactUpdate }, ({ ctx, params, body }) =>
  updateContact(ctx, params.id, body),
);

// DELETE /api/contacts/{id} – delete (soft) a contact
export const DELETE = route({ action: 'customers.delete', params: idParams }, ({ ctx, params }) => deleteContact(ctx, params.id));
