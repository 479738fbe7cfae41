// An agent's verdict on a thread: spam (the thread leaves the inbox and its sender's address or number
// is blocked, so their next mail is stored as spam too) or not spam (a spam or bulk thread comes back
// to the inbox, open, and its sender is allowed: their mail stays in the inbox whatever its headers
// say, and a block of their whole domain no longer catches them).
import type { Ctx } from '../context.js';
import { conflict, notFound } from '../errors.js';
import { putRule, type SenderRule } from '../sender-rules/service.js';
import { isFiltered, type SenderRuleKind } from '../sender-rules/verdict.js';
import { applyServiceLevel } from '../sla/clock.js';
import { loadThread, type Thread } from './service.js';
import { announceThread } from './view.js';

interface Marked {
  thread: Thread;
  rule: SenderRule | null;
}

/** The thread's row, locked; 404 when it is not the organization's. */
async function lockThread(ctx: Ctx, id: string) {
  const [thread] = await ctx.sql<{ id: string; status: string; channel: string; counterpart: string | null; mergedIntoThreadId: string | null }[]>`
    select id, status, channel, counterpart, merged_into_thread_id from app.threads where id = ${id} and org_id = ${ctx.orgId} for update`;
  if (!thread) throw notFound('Thread');
  if (thread.mergedIntoThreadId) throw conflict(`The thread was merged into ${thread.mergedIntoThreadId}: mark that one`);
  return thread;
}

/** The rule for the thread's other party: its email address, or its E.164 number on WhatsApp, SMS and calls. */
function senderRule(thread: { id: string; channel: string; counterpart: string | null }, kind: SenderRuleKind, ctx: Ctx) {
  const c = thread.counterpart?.trim();
  if (!c) return null;
  if (thread.channel === 'email') return c.includes('@') ? putRule(ctx, { kind, match: 'address', value: c.toLowerCase(), threadId: thread.id }) : null;
  return /^\+[1-9][0-9]{6,14}$/.test(c) ? putRule(ctx, { kind, match: 'phone', value: c, threadId: thread.id }) : null;
}

export async function markSpam(ctx: Ctx, id: string): Promise<Marked> {
  const current = await lockThread(ctx, id);
  if (current.status === 'spam') throw conflict('The thread is already marked spam');
  const rule = await senderRule(current, 'block', ctx);
  await ctx.sql`
    update app.threads set status = 'spam', snoozed_until = null, last_activity_at = now()
    where id = ${id} and org_id = ${ctx.orgId}`;
  await applyServiceLevel(ctx, id);
  await announceThread(ctx, 'thread.updated', id, { action: 'thread.marked_spam', data: { from: current.status, senderRuleId: rule?.id ?? null } });
  return { thread: await loadThread(ctx, id), rule };
}

export async function markNotSpam(ctx: Ctx, id: string): Promise<Marked> {
  const current = await lockThread(ctx, id);
  if (!isFiltered(current.status)) throw conflict(`The thread is not marked spam or bulk (it is ${current.status})`);
  const rule = await senderRule(current, 'allow', ctx);
  await ctx.sql`
    update app.threads set status = 'open', resolved_at = null, closed_at = null, last_activity_at = now()
    where id = ${id} and org_id = ${ctx.orgId}`;
  await applyServiceLevel(ctx, id);
  await announceThread(ctx, 'thread.updated', id, { action: 'thread.marked_not_spam', data: { from: current.status, senderRuleId: rule?.id ?? null } });
  return { thread: await loadThread(ctx, id), rule };
}
