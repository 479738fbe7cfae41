import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { listMessages, messageListQuery, reply, replyBody } from '../../../lib/messages/service.js';
import { messagePageWire, messageWire } from '../../../lib/messages/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/threads/{id}/messages – the conversation, oldest first (order=desc for newest first)
export const GET = route({ action: 'threads.read', params: idParams, query: messageListQuery, responses: { 200: messagePageWire } }, ({ ctx, params, query }) =>
  listMessages(ctx, params.id, query),
);

// POST /api/threads/{id}/messages – reply on the thread's channel (queued for sending), or save a draft
export const POST = route({ action: 'threads.write', params: idParams, body: replyBody, status: 201, responses: { 201: messageWire } }, ({ ctx, params, body }) =>
  reply(ctx, params.id, body),
);
