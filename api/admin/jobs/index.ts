import { route } from '../../../lib/http/route.js';
import { jobListQuery, listJobs } from '../../../lib/jobs/admin.js';
import { jobPageWire } from '../../../lib/jobs/wire.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/admin/jobs – background jobs by status (dead by default), for owners and admins
export const GET = route({ action: 'jobs.admin', query: jobListQuery, responses: { 200: jobPageWire } }, ({ ctx, query }) => listJobs(ctx, query));
