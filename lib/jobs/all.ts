// Every job handler, registered by import: lib/jobs/run.ts (the QStash executor route, the local
// dispatcher, the importer) loads this.
import '../threads/jobs.js';
import '../sla/jobs.js';
import '../sla/events.js';
import '../email/send-job.js';
import '../email/poll.js';
import '../ai/analysis-job.js';
import '../ai/transcribe.js';
import '../exotel/jobs.js';
import '../org/invitation-job.js';
import '../notifications/email-job.js';
import '../notifications/sla.js';
import '../actions/jobs.js';
import '../shipments/events.js';
import '../shipments/backfill.js';
import '../analytics/backfill.js';
import '../search/backfill.js';
import '../tracking/service.js';
import '../agents/job.js';
import '../workflows/engine.js';
import '../workflows/ai-draft.js';
import '../webhooks/deliver.js';
