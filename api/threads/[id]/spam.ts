import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { threadMarkWire } from '../../../lib/sender-rules/wire.js';
import { markSpam } from '../../../lib/threads/spam.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/threads/{id}/spam – move the thread to spam and block its sender's address or number
export const POST = route({ action: 'threads.write', params: idParams, responses: { 200: threadMarkWire } }, ({ ctx, params }) => markSpam(ctx, params.id));
