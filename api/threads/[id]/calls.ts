import { callCreate, startCall } from '../../../lib/exotel/calls.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { messageWire } from '../../../lib/messages/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/threads/{id}/calls – click-to-call: Exotel rings your phone, then the customer; the call is a message on the thread
export const POST = route(
  { action: 'threads.write', params: idParams, body: callCreate, status: 201, responses: { 201: messageWire } },
  ({ ctx, params, body }) => startCall(ctx, params.id, body),
);
