import { composeBody, composeReply } from '../../lib/ai/compose.js';
import { route } from '../../lib/http/route.js';
import { composeStream } from '../../lib/ai/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// POST /api/ai/compose – stream a reply draft for a thread (UI message stream over SSE); saved as a draft when it finishes
export const POST = route({ action: 'threads.write', body: composeBody, idempotent: false, responses: { 200: composeStream } }, ({ ctx, body, request }) =>
  composeReply(ctx, body, request),
);
