import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { listVersions } from '../../../lib/workflows/service.js';
import { workflowVersionPageWire } from '../../../lib/workflows/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/workflows/{id}/versions – every saved definition, newest first
export const GET = route({ action: 'workflows.manage', params: idParams, responses: { 200: workflowVersionPageWire } }, ({ ctx, params }) =>
  listVersions(ctx, params.id),
);
