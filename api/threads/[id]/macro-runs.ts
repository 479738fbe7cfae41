import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { listThreadMacroRuns, threadMacroRunsQuery } from '../../../lib/macros/run.js';
import { threadMacroRunPageWire } from '../../../lib/macros/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/threads/{id}/macro-runs – the macros run on this thread, newest first: who, when, what each step did or why it failed
export const GET = route(
  { action: 'threads.read', params: idParams, query: threadMacroRunsQuery, responses: { 200: threadMacroRunPageWire } },
  ({ ctx, params, query }) => listThreadMacroRuns(ctx, params.id, query),
);
