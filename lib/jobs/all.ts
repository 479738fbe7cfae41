// Every job definition, registered by import: the executor route and the local dispatcher load this.
import '../threads/jobs.js';
import '../email/send-job.js';
import '../email/poll.js';
import '../ai/analysis-job.js';
import '../ai/transcribe.js';
import '../exotel/jobs.js';
import '../exotel/senders.js';
