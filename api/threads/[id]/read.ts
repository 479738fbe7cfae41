import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { setThreadRead } from '../../../lib/threads/service.js';
import { threadReadStateWire } from '../../../lib/threads/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// PUT /api/threads/{id}/read – mark read for me
export const PUT = route({ action: 'threads.read', params: idParams, responses: { 200: threadReadStateWire } }, ({ ctx, params }) =>
  setThreadRead(ctx, params.id, true),
);

// DELETE /api/threads/{id}/read – mark unread for me
export const DELETE = route({ action: 'threads.read', params: idParams, responses: { 200: threadReadStateWire } }, ({ ctx, params }) =>
  setThreadRead(ctx, params.id, false),
);
