import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { sendDraft } from '../../../lib/messages/service.js';
import { messageWire } from '../../../lib/messages/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/messages/{id}/send – send a draft (queued; the status follows delivery)
export const POST = route({ action: 'threads.write', params: idParams, responses: { 200: messageWire } }, ({ ctx, params }) => sendDraft(ctx, params.id));
