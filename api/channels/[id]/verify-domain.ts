import { refreshSendingDomainStatus } from '../../../lib/email/send-job.js';
import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { sendingDomainWire } from '../../../lib/channels/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// POST /api/channels/{id}/verify-domain – ask the email provider whether the sending domain is verified, and store it
export const POST = route({ action: 'channels.manage', params: idParams, idempotent: false, responses: { 200: sendingDomainWire } }, ({ ctx, params }) =>
  refreshSendingDomainStatus(ctx, params.id),
);
