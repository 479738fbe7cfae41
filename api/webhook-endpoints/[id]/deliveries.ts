import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { deliveryListQuery, listDeliveries } from '../../../lib/webhooks/service.js';
import { webhookDeliveryPageWire } from '../../../lib/workflows/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/webhook-endpoints/{id}/deliveries – the endpoint's delivery log, newest first: attempts, answer, error; filter status
export const GET = route(
  { action: 'workflows.manage', params: idParams, query: deliveryListQuery, responses: { 200: webhookDeliveryPageWire } },
  ({ ctx, params, query }) => listDeliveries(ctx, params.id, query),
);
