import { contactUpdate, deleteContact, getContact, updateContact } from '../../lib/contacts/service.js';
import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { contactWire, contactWrittenWire } from '../../lib/contacts/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/contacts/{id} – one contact
export const GET = route({ action: 'customers.read', params: idParams, responses: { 200: contactWire } }, ({ ctx, params }) => getContact(ctx, params.id));

// PATCH /api/contacts/{id} – edit a contact
export const PATCH = route(
  { action: 'customers.write', params: idParams, body: contactUpdate, responses: { 200: contactWrittenWire } },
  ({ ctx, params, body }) => updateContact(ctx, params.id, body),
);

// DELETE /api/contacts/{id} – delete (soft) a contact
export const DELETE = route({ action: 'customers.delete', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteContact(ctx, params.id));
