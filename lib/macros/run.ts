// Running a macro (POST /api/macros/{id}/run) on up to 100 threads, as the caller: each step calls the
// function its own route calls (assignThread, updateThread, createNote, createAction, reply), so the
// same checks, events, notifications and jobs follow, with the caller's role. Each thread runs in a
// transaction of its own (the route is routeInTransactions: each transaction checks the caller again):
// a step that fails rolls back that thread's steps alone (its events, jobs and notifications with them)
// and the other threads go on; what a thread did is committed when it is done, whatever comes after.
// An unexpected error (a database fault) fails its thread alone too: logged, and answered with a
// generic message. The run is recorded (app.macro_runs: who, when, the steps as they were; its
// succeeded/failed counts move with each thread's transaction) with each thread's outcome
// (app.macro_run_threads, the thread's timeline of runs: GET /api/threads/{id}/macro-runs) and
// announced on each thread.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { createAction, actionCreate } from '../actions/service.js';
import { AppError, forbidden } from '../errors.js';
import { fromDatabase } from '../http/errors.js';
import type { Transact } from '../http/route.js';
import { log } from '../log.js';
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

/** A thread the steps failed on: at which step (null: the thread itself), and the error thrown. */
class StepFailed extends Error {
  constructor(
    readonly step: number | null,
    readonly type: MacroStep['type'] | null,
    override readonly cause: unknown,
  ) {
    super('macro step failed');
  }
}

/**
 * No thread starts after this long into a run, so that the last one still ends inside the run
 * function's maxDuration (300 s, vercel.json); the threads left are failed ("not run") for a new run.
 */
export const RUN_BUDGET_MS = 240_000;

const inMinutes = (minutes: number) => new Date(now().getTime() + minutes * 60_000);

/**
 * One step on one thread, through the function its route calls; what it did, for the run's record.
 * Workflows run their macro steps through it too (lib/workflows/engine.ts): `source` says which ran it.
 */
export async function runStep(ctx: Ctx, threadId: string, step: MacroStep, source: 'macro' | 'workflow'): Promise<StepOutcome> {
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
      const message = await reply(ctx, threadId, replyBody.parse({ templateId: step.templateId, variables: step.variables, draft: step.draft ?? false }));
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
      const task = await handThreadToAgent(ctx, threadId, agentTaskCreate.parse(input), source);
      return { type: step.type, agentTaskId: task.id as string, status: task.status as string };
    }
  }
}

/** An error a thread's outcome can report (a refused step); anything else fails the whole request. */
export function reportable(error: unknown): AppError | undefined {
  const known = error instanceof AppError ? error : fromDatabase(error);
  return known && known.code !== 'unavailable' && known.code !== 'internal' ? known : undefined;
}

/** The macro's steps on one thread, in the thread's transaction; recorded and announced there when they all succeed. */
async function runOnThread(ctx: Ctx, runId: string, macro: { id: string; name: string; steps: MacroStep[] }, threadId: string) {
  // Locked first, so a thread another request is changing waits for it instead of interleaving.
  await loadThread(ctx, threadId, true).catch((error: unknown) => {
    throw new StepFailed(null, null, error);
  });
  const done: StepOutcome[] = [];
  for (const [i, step] of macro.steps.entries()) {
    try {
      done.push(await runStep(ctx, threadId, step, 'macro'));
    } catch (error) {
      throw new StepFailed(i, step.type, error);
    }
  }
  await ctx.sql`
    insert into app.macro_run_threads (run_id, org_id, thread_id, status, steps)
    values (${runId}, ${ctx.orgId}, ${threadId}, 'succeeded', ${ctx.sql.json(done as never)})`;
  await ctx.sql`update app.macro_runs set succeeded = succeeded + 1 where id = ${runId}`;
  await announceRun(ctx, runId, macro, threadId, 'succeeded', done, null);
  return done;
}

/**
 * What a thread's failure reports: a refused step's error as its route would answer it; anything else
 * (a database fault, a bug) logged with the request id and reported without its internals.
 */
function failureOf(error: unknown, where: { requestId: string; runId: string; threadId: string }): NonNullable<ThreadOutcome['error']> {
  const failed = error instanceof StepFailed ? error : new StepFailed(null, null, error);
  const at = { step: failed.step, type: failed.type };
  const known = reportable(failed.cause);
  if (known) return { ...at, code: known.code, message: known.message, ...(known.details === undefined ? {} : { details: known.details }) };
  log.error('macro run: a thread failed unexpectedly', { ...where, ...at, error: failed.cause });
  const code = fromDatabase(failed.cause)?.code === 'unavailable' ? 'unavailable' : 'internal';
  return {
    ...at,
    code,
    message: `Something went wrong on this thread and nothing was kept there; the request id ${where.requestId} identifies it in our logs`,
  };
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

/** A failed thread's record, in a transaction of its own once the thread's rolled back (none for a thread that is not the organization's). */
async function recordFailure(ctx: Ctx, runId: string, macro: { id: string; name: string }, threadId: string, error: NonNullable<ThreadOutcome['error']>) {
  const [row] = await ctx.sql`
    insert into app.macro_run_threads (run_id, org_id, thread_id, status, error)
    select ${runId}, ${ctx.orgId}, t.id, 'failed', ${ctx.sql.json(error as never)} from app.threads t where t.id = ${threadId} and t.org_id = ${ctx.orgId}
    returning thread_id`;
  await ctx.sql`update app.macro_runs set failed = failed + 1 where id = ${runId}`;
  if (row) await announceRun(ctx, runId, macro, threadId, 'failed', [], error);
}

/** Runs the macro on the threads, each in a transaction of its own (transact: as the caller); the outcome per thread. */
export async function runMacro(transact: Transact, id: string, input: z.infer<typeof macroRunBody>) {
  const started = performance.now();
  const { macro, run, requestId, runBy } = await transact(async (ctx) => {
    if (!ctx.userId) throw forbidden('Macros run as a member (with their role and name on each thread): an API key cannot run one');
    const macro = await getMacro(ctx, id);
    const [run] = await ctx.sql<{ id: string; createdAt: Date }[]>`
      insert into app.macro_runs (org_id, macro_id, macro_name, steps, run_by, request_id, thread_count)
      values (${ctx.orgId}, ${macro.id}, ${macro.name}, ${ctx.sql.json(macro.steps as never)}, ${ctx.userId}, ${ctx.requestId}, ${input.threadIds.length})
      returning id, created_at`;
    await ctx.sql`update app.macros set usage_count = usage_count + 1, last_run_at = now() where id = ${macro.id}`;
    return { macro, run: run!, requestId: ctx.requestId, runBy: ctx.userId };
  });
  const results: ThreadOutcome[] = [];
  for (const threadId of input.threadIds) {
    let error: ThreadOutcome['error'];
    if (performance.now() - started > RUN_BUDGET_MS) {
      error = { step: null, type: null, code: 'unavailable', message: 'Not run: the run reached its time limit before this thread; run the macro on it again' };
    } else {
      try {
        const steps = await transact((ctx) => runOnThread(ctx, run.id, macro, threadId));
        results.push({ threadId, status: 'succeeded', steps, error: null });
        continue;
      } catch (e) {
        error = failureOf(e, { requestId, runId: run.id, threadId });
      }
    }
    await transact((ctx) => recordFailure(ctx, run.id, macro, threadId, error));
    results.push({ threadId, status: 'failed', steps: [], error });
  }
  const succeeded = results.filter((r) => r.status === 'succeeded').length;
  return {
    runId: run.id,
    macroId: macro.id,
    macroName: macro.name,
    runBy,
    at: run.createdAt,
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
