// The minute cron's side of inbound email: which folders are due a poll, and their jobs. Kept apart
// from the poll itself (lib/email/poll.ts) so the cron function never loads IMAP, parsing or ingest.
import { asSystem, type QueuedJob } from '../context.js';
import { db } from '../db/client.js';
import { enqueue } from '../jobs/enqueue.js';
import { publishJobs } from '../jobs/publish.js';
import { jobSpecs } from '../jobs/specs.js';

interface DueFolder {
  orgId: string;
  channelId: string;
  folderId: string;
  path: string;
}

export interface EnqueueResult {
  /** Folders due a poll (none of whose polls is pending or running). */
  folders: number;
  /** Poll jobs for them (a job this minute already made is counted, not made again). */
  jobs: number;
  organizations: number;
}

/**
 * The minute cron: one `email.poll` job per enabled folder of every mailbox that is not disabled
 * (a failing one keeps being tried, so it recovers by itself), stalest first. The dedupe key names
 * the folder and the minute, and a folder whose poll is still pending or running gets none, so
 * overlapping ticks never pile polls up. Bounded per tick; the rest comes first next minute.
 */
export async function enqueueMailboxPolls(options: { now?: Date; limit?: number } = {}): Promise<EnqueueResult> {
  const sql = await db();
  const now = options.now ?? new Date();
  const minute = Math.floor(now.getTime() / 60_000);
  const due = await sql<DueFolder[]>`
    with busy as (
      select org_id, payload ->> 'channelId' as channel_id, payload ->> 'folder' as folder from app.outbox
      where name = 'email.poll' and status in ('pending', 'running'))
    select c.org_id, c.id as channel_id, f.id as folder_id, f.path
    from app.channels c join app.mailbox_folders f on f.org_id = c.org_id and f.channel_id = c.id
    where c.kind = 'email' and c.status <> 'disabled' and f.enabled
      and not exists (select 1 from busy b where b.org_id = c.org_id and b.channel_id = c.id::text and b.folder = f.path)
    order by f.last_polled_at nulls first, f.id
    limit ${options.limit ?? 500}`;
  const byOrg = new Map<string, DueFolder[]>();
  for (const row of due) byOrg.set(row.orgId, [...(byOrg.get(row.orgId) ?? []), row]);
  const jobs: QueuedJob[] = [];
  for (const [orgId, rows] of byOrg) {
    await asSystem(orgId, `cron:email-poll:${minute}`, jobs, async (ctx) => {
      for (const row of rows) {
        await enqueue(ctx, jobSpecs.emailPoll, { channelId: row.channelId, folder: row.path }, { dedupeKey: `poll:${row.folderId}:${minute}` });
      }
    });
  }
  if (jobs.length > 0) await publishJobs(jobs);
  return { folders: due.length, jobs: jobs.length, organizations: byOrg.size };
}
