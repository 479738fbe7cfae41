import { idParams } from '../../../lib/http/params.js';
import { route } from '../../../lib/http/route.js';
import { createMilestone, listMilestones, milestoneCreate } from '../../../lib/shipments/milestones.js';
import { milestoneListWire, milestoneWire } from '../../../lib/shipments/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/shipments/{id}/milestones – the shipment's milestones, in the order they happen
export const GET = route({ action: 'shipments.read', params: idParams, responses: { 200: milestoneListWire } }, ({ ctx, params }) =>
  listMilestones(ctx, params.id),
);

// POST /api/shipments/{id}/milestones – record a milestone (status and dates derive from it)
export const POST = route(
  { action: 'shipments.write', params: idParams, body: milestoneCreate, status: 201, responses: { 201: milestoneWire } },
  ({ ctx, params, body }) => createMilestone(ctx, params.id, body),
);
