import { route } from '../../../lib/http/route.js';
import { jobListQuery, listJobs } from '../../../lib/jobs/admin.js';

export { OPTIONS } from '../../../lib/http/cors.js';

// GET /api/admin/jobs – background jobs by status (dead by default), for owners and admins
export const GET = route({ action: 'jobs.admin', query: jobListQuery }, ({ ctx, query }) => listJobs(ctx, query));
