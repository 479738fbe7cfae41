import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { threadMarkWire } from '../../../lib/sender-rules/wire.js';
import { markNotSpam } from '../../../lib/threads/spam.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/threads/{id}/not-spam – move a spam or bulk thread back to the inbox and allow its sender
export const POST = route({ action: 'threads.write', params: idParams, responses: { 200: threadMarkWire } }, ({ ctx, params }) => markNotSpam(ctx, params.id));
