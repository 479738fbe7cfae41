// Running a macro (POST /api/macros/{id}/run) on up to 100 threads, as the caller: each step calls the
// function its own route calls (assignThread, updateThread, createNote, createAction, reply), so the
// same checks, events, notifications and jobs follow, with the caller's role. Each thread runs in a
// savepoint of its own: a step that fails rolls back that thread's steps alone (its events, jobs and
// notifications with them) and the other threads go on. The run is recorded (app.macro_runs: who,
// when, the steps as they were) with each thread's outcome (app.macro_run_threads, the thread's
// timeline of runs: GET /api/threads/{id}/macro-runs) and announced on each thread that changed.
//
// Why savepoints rather than transactions of their own: the request's transaction holds the
// Idempotency-Key row that commits with the outcome (a retry replays it instead of running twice),
// and embedded PGlite serves one transaction at a time (a second one would wait for the first forever).
import * as z from 'zod';
import { savepoint, type Ctx } from '../context.js';
import { createAction, actionCreate } from '../actions/service.js';
import { AppError, invalid } from '../errors.js';
import { fromDatabase } from '../http/errors.js';
import { replyBody, reply } from '../messages/service.js';
import { createNote } from '../notes/service.js';
import { decodeCursor, exactInstant, toPage } from '../pagination.js';
import { recordChange, topics } from '../realtime.js';
import { now } from '../time.js';
import { assignThread, loadThread, threadUpdate, updateThread } from '../threads/service.js';
import { getMacro, type MacroStep } from './service.js';

export const MAX_MACRO_THREADS = 100;

export const macroRunBody = z.strictObject({
  threadIds: z
    .array(z.uuid())
    .min(1)
    .max(MAX_MACRO_THREADS)
    .superRefine((ids, c) => {
      const seen = new Set<string>();
      ids.forEach((id, i) => {
        if (seen.has(id.toLowerCase())) c.addIssue({ code: 'custom', path: [i], message: 'names a thread twice' });
        seen.add(id.toLowerCase());
      });
    }),
});

export interface StepOutcome {
  type: MacroStep['type'];
  [key: string]: unknown;
}

export interface ThreadOutcome {
  threadId: string;
  status: 'succeeded' | 'failed';
  steps: StepOutcome[];
  error: { step: number | null; type: string | null; code: string; message: string; details?: unknown } | null;
}

/** A step that failed: which one, and the error its function threw. */
class StepFailed extends Error {
  constructor(
    readonly step: number,
    readonly type: MacroStep['type'],
    override readonly cause: AppError,
  ) {
    super(cause.message);
  }
}

const inMinutes = (minutes: number) => new Date(now().getTime() + minutes * 60_000);

/**
 * One step on one thread, through the function its route calls; what it did, for the run's record.
 * Workflows run their macro steps through it too (lib/workflows/engine.ts).
 */
export async function runStep(ctx: Ctx, threadId: string, step: MacroStep): Promise<StepOutcome> {
  switch (step.type) {
    case 'assign': {
      const t = await assignThread(ctx, threadId, { assigneeId: step.assigneeId, teamId: step.teamId });
      return { type: step.type, assigneeId: t.assigneeId, teamId: t.teamId, ...(t.warnings ? { warnings: t.warnings } : {}) };
    }
    case 'status':
    case 'priority': {
      const t = await updateThread(ctx, threadId, threadUpdate.parse(step.type === 'status' ? { status: step.status } : { priority: step.priority }));
      return { type: step.type, status: t.status, priority: t.priority };
    }
    case 'snooze': {
      const t = await updateThread(ctx, threadId, threadUpdate.parse({ status: 'snoozed', snoozedUntil: inMinutes(step.minutes).toISOString() }));
      return { type: step.type, status: t.status, snoozedUntil: t.snoozedUntil };
    }
    case 'tags': {
      const current = await loadThread(ctx, threadId, true);
      const remove = new Set(step.remove ?? []);
      const tags = [...new Set([...(current.tags as string[]), ...(step.add ?? [])])].filter((t) => !remove.has(t));
      const t = await updateThread(ctx, threadId, threadUpdate.parse({ tags }));
      return { type: step.type, tags: t.tags };
    }
    case 'note': {
      const note = await createNote(ctx, threadId, { body: step.body });
      return { type: step.type, noteId: note.id };
    }
    case 'action': {
      const action = await createAction(
        ctx,
        actionCreate.parse({
          threadId,
          title: step.title,
          description: step.description,
          type: step.actionType,
          priority: step.priority,
          assigneeId: step.assigneeId,
          dueAt: step.dueInMinutes === undefined ? undefined : inMinutes(step.dueInMinutes).toISOString(),
        }),
      );
      return { type: step.type, actionId: action.id, dueAt: action.dueAt };
    }
    case 'reply': {
      const message = await reply(ctx, threadId, replyBody.parse({ templateId: step.templateId, draft: step.draft ?? false }));
      return { type: step.type, messageId: message.id, status: message.status };
    }
    case 'shipment': {
      const { linkThread } = await import('../shipments/links.js');
      const link = await linkThread(ctx, step.shipmentId, threadId);
      return { type: step.type, shipmentId: link.shipmentId, linkSource: link.linkSource };
    }
    case 'agent': {
      const { handThreadToAgent, agentTaskCreate } = await import('../agents/service.js');
      const { type: _type, ...input } = step;
      const task = await handThreadToAgent(ctx, threadId, agentTaskCreate.parse(input), 'workflow');
      return { type: step.type, agentTaskId: task.id as string, status: task.status as string };
    }
  }
}

/** An error a thread's outcome can report (a refused step); anything else fails the whole request. */
export function reportable(error: unknown): AppError | undefined {
  const known = error instanceof AppError ? error : fromDatabase(error);
  return known && known.code !== 'unavailable' && known.code !== 'internal' ? known : undefined;
}

/** The macro's steps on one thread, in its savepoint; recorded and announced on the thread when they all succeed. */
async function runOnThread(ctx: Ctx, runId: string, macro: { id: string; name: string; steps: MacroStep[] }, threadId: string) {
  return savepoint(ctx, async (tx) => {
    // Locked first, so a thread another request is changing waits for it instead of interleaving.
    await loadThread(tx, threadId, true);
    const done: StepOutcome[] = [];
    for (const [i, step] of macro.steps.entries()) {
      try {
        done.push(await runStep(tx, threadId, step));
      } catch (error) {
        const known = reportable(error);
        if (known) throw new StepFailed(i, step.type, known);
        throw error;
      }
    }
    await tx.sql`
      insert into app.macro_run_threads (run_id, org_id, thread_id, status, steps)
      values (${runId}, ${ctx.orgId}, ${threadId}, 'succeeded', ${tx.sql.json(done as never)})`;
    await announceRun(tx, runId, macro, threadId, 'succeeded', done, null);
    return done;
  });
}

async function announceRun(
  ctx: Ctx,
  runId: string,
  macro: { id: string; name: string },
  threadId: string,
  status: ThreadOutcome['status'],
  steps: StepOutcome[],
  error: ThreadOutcome['error'],
) {
  const data = { runId, macroId: macro.id, macroName: macro.name, threadId, status, steps, error };
  await recordChange(ctx, {
    event: 'thread.macro_run',
    topics: [topics.thread(ctx.orgId, threadId)],
    data,
    audit: { action: 'macro.run', entityType: 'thread', entityId: threadId, data },
  });
}

/** A failed thread's record, once its savepoint rolled back (none for a thread that is not the organization's). */
async function recordFailure(ctx: Ctx, runId: string, macro: { id: string; name: string }, threadId: string, error: NonNullable<ThreadOutcome['error']>) {
  const [row] = await ctx.sql`
    insert into app.macro_run_threads (run_id, org_id, thread_id, status, error)
    select ${runId}, ${ctx.orgId}, t.id, 'failed', ${ctx.sql.json(error as never)} from app.threads t where t.id = ${threadId} and t.org_id = ${ctx.orgId}
    returning thread_id`;
  if (row) await announceRun(ctx, runId, macro, threadId, 'failed', [], error);
}

export async function runMacro(ctx: Ctx, id: string, input: z.infer<typeof macroRunBody>) {
  if (!ctx.userId) throw invalid('path.id', 'macros run as a member');
  const macro = await getMacro(ctx, id);
  const [run] = await ctx.sql<{ id: string; createdAt: Date }[]>`
    insert into app.macro_runs (org_id, macro_id, macro_name, steps, run_by, request_id, thread_count)
    values (${ctx.orgId}, ${macro.id}, ${macro.name}, ${ctx.sql.json(macro.steps as never)}, ${ctx.userId}, ${ctx.requestId}, ${input.threadIds.length})
    returning id, created_at`;
  const results: ThreadOutcome[] = [];
  for (const threadId of input.threadIds) {
    const jobs = ctx.jobs.length;
    try {
      const steps = await runOnThread(ctx, run!.id, macro, threadId);
      results.push({ threadId, status: 'succeeded', steps, error: null });
    } catch (error) {
      // Its jobs rolled back with it: nothing to publish for them.
      ctx.jobs.length = jobs;
      const failed = error instanceof StepFailed ? error : reportable(error) ? new StepFailed(-1, 'assign', reportable(error)!) : undefined;
      if (!failed) throw error;
      const step = failed.step < 0 ? null : failed.step;
      const e = failed.cause;
      const outcome = {
        step,
        type: step === null ? null : failed.type,
        code: e.code,
        message: e.message,
        ...(e.details === undefined ? {} : { details: e.details }),
      };
      await recordFailure(ctx, run!.id, macro, threadId, outcome);
      results.push({ threadId, status: 'failed', steps: [], error: outcome });
    }
  }
  const succeeded = results.filter((r) => r.status === 'succeeded').length;
  await ctx.sql`update app.macro_runs set succeeded = ${succeeded}, failed = ${results.length - succeeded} where id = ${run!.id}`;
  await ctx.sql`update app.macros set usage_count = usage_count + 1, last_run_at = now() where id = ${macro.id}`;
  return {
    runId: run!.id,
    macroId: macro.id,
    macroName: macro.name,
    runBy: ctx.userId,
    at: run!.createdAt,
    succeeded,
    failed: results.length - succeeded,
    results,
  };
}

export const threadMacroRunsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
});

/** A thread's macro runs, newest first: who ran which macro when, and what it did there. */
export async function listThreadMacroRuns(ctx: Ctx, threadId: string, q: z.infer<typeof threadMacroRunsQuery>) {
  await loadThread(ctx, threadId);
  const sql = ctx.sql;
  const after = decodeCursor(q.cursor, z.tuple([z.iso.datetime({ offset: true }), z.uuid()]));
  const rows = await sql<(Record<string, unknown> & { runId: string; sortAt: string })[]>`
    select rt.run_id, r.macro_id, r.macro_name, r.run_by, m.display_name as run_by_name, rt.status, rt.steps, rt.error, rt.created_at as at,
      ${exactInstant(sql, 'rt.created_at', 'sort_at')}
    from app.macro_run_threads rt join app.macro_runs r on r.id = rt.run_id
      left join app.members m on m.org_id = r.org_id and m.user_id = r.run_by
    where rt.org_id = ${ctx.orgId} and rt.thread_id = ${threadId}
      ${after ? sql`and (rt.created_at, rt.run_id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by rt.created_at desc, rt.run_id desc
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.runId]);
  return { ...page, data: page.data.map(({ sortAt: _s, ...r }) => r) };
}
