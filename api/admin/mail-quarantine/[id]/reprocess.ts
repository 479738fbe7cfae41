import { reprocessQuarantined } from '../../../../lib/email/quarantine-reprocess.js';
import { idParams } from '../../../../lib/http/params.js';
import { route } from '../../../../lib/http/route.js';
import { reprocessWire } from '../../../../lib/email/quarantine-wire.js';

export { OPTIONS } from '../../../../lib/http/cors.js';

// POST /api/admin/mail-quarantine/{id}/reprocess – parse and store its raw source again
export const POST = route({ action: 'jobs.admin', params: idParams, responses: { 200: reprocessWire } }, ({ ctx, params }) =>
  reprocessQuarantined(ctx, params.id),
);
