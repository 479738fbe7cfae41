import { contactCreate, contactListQuery, createContact, listContacts } from '../../lib/contacts/service.js';
import { route } from '../../lib/http/route.js';
import { contactPageWire, contactWrittenWire } from '../../lib/contacts/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/contacts – list contacts (by customer, name, email, domain, phone)
export const GET = route({ action: 'customers.read', query: contactListQuery, responses: { 200: contactPageWire } }, ({ ctx, query }) =>
  listContacts(ctx, query),
);

// POST /api/contacts – create a contact
export const POST = route({ action: 'customers.write', body: contactCreate, status: 201, responses: { 201: contactWrittenWire } }, ({ ctx, body }) =>
  createContact(ctx, body),
);
