import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { linkedThreads, linkThread, threadLinkBody, threadUnlinkQuery, unlinkThread } from '../../../lib/shipments/links.js';
import { linkedThreadsWire, threadLinkWire } from '../../../lib/shipments/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/shipments/{id}/threads – the threads linked to the shipment
export const GET = route({ action: 'shipments.read', params: idParams, responses: { 200: linkedThreadsWire } }, ({ ctx, params }) =>
  linkedThreads(ctx, params.id),
);

// POST /api/shipments/{id}/threads – link a thread by hand (also undoes a rejection)
export const POST = route({ action: 'shipments.write', params: idParams, body: threadLinkBody, responses: { 200: threadLinkWire } }, ({ ctx, params, body }) =>
  linkThread(ctx, params.id, body.threadId),
);

// DELETE /api/shipments/{id}/threads?threadId= – unlink a thread (kept as rejected: never linked again automatically)
export const DELETE = route({ action: 'shipments.write', params: idParams, query: threadUnlinkQuery, responses: { 204: null } }, ({ ctx, params, query }) =>
  unlinkThread(ctx, params.id, query.threadId),
);
