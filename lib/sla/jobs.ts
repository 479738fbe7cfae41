// Background work for service levels: recomputing an organization's clocks after a policy or calendar
// changed, a batch per transaction (each batch is safe to run again: it recomputes from the messages).
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { recomputeBatch } from './clock.js';

export const recomputeServiceLevels = defineJob({
  ...jobSpecs.slaRecompute,
  async perform({ transact, payload }) {
    let after = payload.after;
    do after = await transact((ctx) => recomputeBatch(ctx, after));
    while (after);
  },
});
