import { cronRoute } from '../../lib/http/cron.js';
import { sweepJobs } from '../../lib/jobs/sweep.js';

// GET /api/cron/jobs-sweep – Vercel Cron: take over crashed runs, republish (QStash) or run (inline) due jobs, expire keys
export const GET = cronRoute('jobs-sweep', () => sweepJobs());
