import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { shipmentTimeline, timelineQuery } from '../../../lib/shipments/timeline.js';
import { timelinePageWire } from '../../../lib/shipments/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/shipments/{id}/timeline – milestones, linked threads' messages and notes, actions: newest first
export const GET = route({ action: 'shipments.read', params: idParams, query: timelineQuery, responses: { 200: timelinePageWire } }, ({ ctx, params, query }) =>
  shipmentTimeline(ctx, params.id, query),
);
