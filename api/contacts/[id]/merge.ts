import { mergeContacts } from '../../../lib/contacts/merge.js';
import { contactWire } from '../../../lib/contacts/wire.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { partyMerge } from '../../../lib/merge.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/contacts/{id}/merge – merge the contacts `mergeIds` names into this one; answers the contact that stays
export const POST = route({ action: 'customers.merge', params: idParams, body: partyMerge, responses: { 200: contactWire } }, ({ ctx, params, body }) =>
  mergeContacts(ctx, params.id, body),
);
