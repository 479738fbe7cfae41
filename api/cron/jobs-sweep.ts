import { cronRoute } from '../../lib/http/cron.js';
import { sweepJobs } from '../../lib/jobs/sweep.js';

// GET /api/cron/jobs-sweep – Vercel Cron: republish unacknowledged jobs, expire leases and keys
export const GET = cronRoute('jobs-sweep', () => sweepJobs());
