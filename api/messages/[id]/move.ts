import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { messageMove, moveMessage } from '../../../lib/threads/regroup.js';
import { messageWire } from '../../../lib/messages/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/messages/{id}/move – move the message to another thread of the same channel
export const POST = route({ action: 'threads.write', params: idParams, body: messageMove, responses: { 200: messageWire } }, ({ ctx, params, body }) =>
  moveMessage(ctx, params.id, body),
);
