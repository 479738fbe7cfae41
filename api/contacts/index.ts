import { contactCreate, createContact, listContacts } from '../../lib/contacts/service.js';
import { contactListOrSyncQuery, syncContacts } from '../../lib/contacts/sync.js';
import { route } from '../../lib/http/route.js';
import { isSync } from '../../lib/sync.js';
import { contactPageWire, contactWrittenWire } from '../../lib/contacts/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// GET /api/contacts – list contacts (by customer, name, email, domain, phone); with updatedSince, what changed since
export const GET = route({ action: 'customers.read', query: contactListOrSyncQuery, responses: { 200: contactPageWire } }, ({ ctx, query }) =>
  isSync(query) ? syncContacts(ctx, query) : listContacts(ctx, query),
);

// POST /api/contacts – create a contact
export const POST = route({ action: 'customers.write', body: contactCreate, status: 201, responses: { 201: contactWrittenWire } }, ({ ctx, body }) =>
  createContact(ctx, body),
);
