import { discardQuarantined, getQuarantined } from '../../../lib/email/quarantine.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { quarantinedWire, quarantinedWithDownloadWire } from '../../../lib/email/quarantine-wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/admin/mail-quarantine/{id} – one quarantined message, with a short-lived link to its raw source
export const GET = route({ action: 'jobs.admin', params: idParams, responses: { 200: quarantinedWithDownloadWire } }, ({ ctx, params }) =>
  getQuarantined(ctx, params.id),
);

// DELETE /api/admin/mail-quarantine/{id} – discard it: it will not be stored (the row stays as the record)
export const DELETE = route({ action: 'jobs.admin', params: idParams, responses: { 200: quarantinedWire } }, ({ ctx, params }) =>
  discardQuarantined(ctx, params.id),
);
