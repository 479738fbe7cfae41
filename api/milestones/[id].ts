import { idParams } from '../../lib/http/params.js';
import { route } from '../../lib/http/route.js';
import { deleteMilestone, milestoneUpdate, updateMilestone } from '../../lib/shipments/milestones.js';
import { milestoneWire } from '../../lib/shipments/wire.js';

export { OPTIONS } from '../../lib/http/cors.js';

// PATCH /api/milestones/{id} – correct a milestone (an actual time set now announces it as happened)
export const PATCH = route({ action: 'shipments.write', params: idParams, body: milestoneUpdate, responses: { 200: milestoneWire } }, ({ ctx, params, body }) =>
  updateMilestone(ctx, params.id, body),
);

// DELETE /api/milestones/{id} – delete a milestone
export const DELETE = route({ action: 'shipments.write', params: idParams, responses: { 204: null } }, ({ ctx, params }) => deleteMilestone(ctx, params.id));
