// The `action.due` job: at an action's due time less ACTION_DUE_SOON_MS (`due`) and at the due time
// (`overdue`), its assignee is told, unless the action was finished or its due time moved since (an
// edit leaves the old job behind and queues its own: lib/actions/service.ts scheduleDueJobs). An
// overdue action nobody is assigned tells whoever created it.
import { defineJob } from '../jobs/registry.js';
import { jobSpecs } from '../jobs/specs.js';
import { notify } from '../notifications/notify.js';
import { emitWorkflowEvent } from '../workflows/emit.js';

export const actionDueJob = defineJob({
  ...jobSpecs.actionDue,
  async handle({ ctx, payload }) {
    const [action] = await ctx.sql<{ id: string; title: string; threadId: string | null; assigneeId: string | null; createdBy: string | null }[]>`
      select id, title, thread_id, assignee_id, created_by from app.actions
      where id = ${payload.actionId} and org_id = ${ctx.orgId} and status in ('open', 'in_progress')
        and due_at = ${payload.dueAt}::timestamptz`;
    if (!action) return;
    const overdue = payload.stage === 'overdue';
    await notify(ctx, [action.assigneeId ?? (overdue ? action.createdBy : null)], {
      type: overdue ? 'action_overdue' : 'action_due',
      title: `${overdue ? 'Overdue' : 'Due soon'}: ${action.title}`.slice(0, 300),
      body: `Due ${payload.dueAt}`,
      threadId: action.threadId,
      entityType: 'action',
      entityId: action.id,
    });
    // Workflows hear of an overdue action on a thread (action.overdue), once per due time.
    if (overdue && action.threadId) {
      await emitWorkflowEvent(ctx, {
        id: `action.overdue:${action.id}:${payload.dueAt}`,
        type: 'action.overdue',
        threadId: action.threadId,
        actionId: action.id,
      });
    }
  },
});
