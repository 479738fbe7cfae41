// Background work for service levels: recomputing an organization's clocks after a policy or calendar
// changed, a batch per transaction (each batch is safe to run again: it recomputes from the messages);
// a long recompute continues in a new run (lib/sla/clock.ts recomputeRun).
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { recomputeRun } from './clock.js';

export const recomputeServiceLevels = defineJob({
  ...jobSpecs.slaRecompute,
  perform: ({ transact, payload }) => recomputeRun(transact, payload.after),
});
