import { enqueueMailboxPolls } from '../../lib/email/poll-cron.js';
import { cronRoute } from '../../lib/http/cron.js';

// GET /api/cron/email-poll – Vercel Cron: enqueue one email.poll job per enabled mailbox folder
export const GET = cronRoute('email-poll', () => enqueueMailboxPolls());
