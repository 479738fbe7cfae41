import { mergeCustomers } from '../../../lib/customers/merge.js';
import { customerDetailWire } from '../../../lib/customers/wire.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { partyMerge } from '../../../lib/merge.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/customers/{id}/merge – merge the customers `mergeIds` names into this one; answers the customer that stays, with its contacts
export const POST = route({ action: 'customers.merge', params: idParams, body: partyMerge, responses: { 200: customerDetailWire } }, ({ ctx, params, body }) =>
  mergeCustomers(ctx, params.id, body),
);
