import { idParams } from '../../../../lib/http/params.js';
import { route } from '../../../../lib/http/route.js';
import { retryDeadJob } from '../../../../lib/jobs/admin.js';
import { jobRetriedWire } from '../../../../lib/jobs/wire.js';

export { OPTIONS } from '../../../../lib/http/cors.js';

// POST /api/admin/jobs/{id}/retry – put a dead job back in the queue
export const POST = route({ action: 'jobs.admin', params: idParams, responses: { 200: jobRetriedWire } }, ({ ctx, params }) => retryDeadJob(ctx, params.id));
