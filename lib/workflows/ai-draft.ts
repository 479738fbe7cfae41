// A workflow's AI draft when a model is configured (the workflow.ai-draft job): the step job records
// the step running and queues this one, which commits in three steps so no transaction stays open
// while the model writes. First the run is checked (still at this step, same generation) and the
// thread's context read; then the model writes the draft (the prompt of the compose route, within the
// model's timeout), the offline drafter's text standing in when the model fails; then, under the run's
// lock and checked again, the draft is saved for a person to send (never sent) and the run moves on.
// A crash between the model's answer and the save asks the model again when the job runs again.
import type { Automation, Ctx } from '../context.js';
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { config } from '../config.js';
import { definitionOf, advance, aiDraftInput, failRun, recordStep, runAtStep, saveWorkflowDraft, type RunRow } from './engine.js';
import { nextStepKey, stepAt } from './definition.js';

const automationOf = (run: RunRow): Automation => ({ workflowId: run.workflowId, runId: run.id, depth: run.depth });

export const workflowAiDraftJob = defineJob({
  ...jobSpecs.workflowAiDraft,
  async perform({ transact, payload, job }) {
    const [{ gatherThreadContext, resolveModel }, { draftOffline }] = await Promise.all([import('../ai/context.js'), import('../ai/offline-drafter.js')]);
    const prepared = await transact(async (ctx) => {
      const run = await runAtStep(ctx, payload, ['running']);
      if (!run) return null;
      const step = stepAt((await definitionOf(ctx, run.workflowId, run.workflowVersion)).steps, payload.stepKey);
      if (step?.type !== 'ai_draft') return null;
      return { context: await gatherThreadContext(ctx, run.threadId), input: aiDraftInput(step) };
    });
    if (!prepared) return;
    const { context, input } = prepared;
    let text: string;
    let ai: Record<string, unknown>;
    const choice = await resolveModel();
    try {
      if (!choice) throw new Error('no AI model is configured any more');
      const [{ generateText }, { composePrompt }] = await Promise.all([import('ai'), import('../ai/compose.js')]);
      const prompt = composePrompt(context, input);
      const result = await generateText({
        model: choice.model,
        system: prompt.system,
        prompt: prompt.prompt,
        maxOutputTokens: config().ai.maxOutputTokens,
        temperature: 0.3,
        maxRetries: choice.maxRetries ?? 1,
        abortSignal: AbortSignal.timeout(choice.timeoutMs),
      });
      if (!result.text.trim()) throw new Error('the model answered an empty draft');
      text = result.text.trim();
      ai = { source: 'model', model: choice.modelId };
    } catch (error) {
      text = draftOffline(context, input).text;
      ai = { source: 'offline', modelError: (error instanceof Error ? error.message : String(error)).slice(0, 500) };
    }
    await transact(async (ctx) => {
      const run = await runAtStep(ctx, payload, ['running']);
      if (!run) return;
      const actx: Ctx = { ...ctx, automation: automationOf(run) };
      const output = await saveWorkflowDraft(actx, run, text, ai);
      await recordStep(ctx, run.id, payload.stepKey, 'ai_draft', 'succeeded', { input, output, attempts: job.attempts });
      const { steps } = await definitionOf(ctx, run.workflowId, run.workflowVersion);
      await advance(ctx, run, nextStepKey(steps, payload.stepKey));
    });
  },
  // A draft that kept failing to save: the run fails with the error, for a person to retry or cancel.
  async onDead({ ctx, payload, job, error }) {
    const run = await runAtStep(ctx, payload, ['running']);
    if (run) await failRun(ctx, run, payload.stepKey, 'ai_draft', { code: 'step_crashed', message: error.slice(0, 1000) }, job.attempts);
  },
});
