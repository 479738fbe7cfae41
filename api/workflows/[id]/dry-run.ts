import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { dryRun, dryRunBody } from '../../../lib/workflows/service.js';
import { dryRunWire } from '../../../lib/workflows/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/workflows/{id}/dry-run – { threadId } or { event }: whether it would run on that real thread and which steps with which inputs; changes nothing
export const POST = route(
  { action: 'workflows.manage', params: idParams, body: dryRunBody, idempotent: false, responses: { 200: dryRunWire } },
  ({ ctx, params, body }) => dryRun(ctx, params.id, body),
);
