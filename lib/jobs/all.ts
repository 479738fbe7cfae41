// Every job definition, registered by import: the executor route and the local dispatcher load this.
import '../threads/jobs.js';
