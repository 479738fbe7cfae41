// Availability: a member is available, busy or away, optionally until an instant after which they
// count as available again. The one rule of who can take work now lives here (canTakeWork): manual
// assignment warns with it, and automatic assignment (round-robin, least busy) must pick only
// members it accepts (workableMembers).
import type { Ctx } from '../context.js';

export const AVAILABILITIES = ['available', 'busy', 'away'] as const;
export type Availability = (typeof AVAILABILITIES)[number];

export interface AvailabilityFields {
  availability: Availability;
  availabilityUntil: Date | string | null;
  availabilityNote: string | null;
}

/** What the member's availability is at `now`: a busy or away status whose `until` has passed is over. */
export function currentAvailability(m: AvailabilityFields, now: Date = new Date()): { status: Availability; until: Date | null; note: string | null } {
  const until = m.availabilityUntil === null ? null : new Date(m.availabilityUntil);
  if (m.availability === 'available' || (until !== null && until.getTime() <= now.getTime())) return { status: 'available', until: null, note: null };
  return { status: m.availability, until, note: m.availabilityNote };
}

/**
 * Who can take work now: an active member who works threads (not a viewer) and is available at `now`
 * (busy and away members keep their threads but get no new ones until their `until` passes or they
 * say they are available).
 */
export function canTakeWork(m: AvailabilityFields & { role: string; status: string }, now: Date = new Date()): boolean {
  return m.status === 'active' && m.role !== 'viewer' && currentAvailability(m, now).status === 'available';
}

export interface WorkableMember {
  userId: string;
  displayName: string;
}

/** The members of the acting organization (of one team, when given) who can take work now, by name. */
export async function workableMembers(ctx: Ctx, options: { teamId?: string; now?: Date } = {}): Promise<WorkableMember[]> {
  const sql = ctx.sql;
  const rows = await sql<(AvailabilityFields & WorkableMember & { role: string; status: string })[]>`
    select m.user_id, m.display_name, m.role, m.status, m.availability, m.availability_until, m.availability_note
    from app.members m
    where m.org_id = ${ctx.orgId}
      ${options.teamId ? sql`and exists (select 1 from app.team_members tm where tm.team_id = ${options.teamId} and tm.user_id = m.user_id)` : sql``}
    order by m.display_name, m.user_id`;
  return rows.filter((m) => canTakeWork(m, options.now)).map((m) => ({ userId: m.userId, displayName: m.displayName }));
}

export interface Warning {
  field: string;
  code: string;
  message: string;
  until?: string | null;
}

/**
 * Assigning to a member who is away succeeds, with a warning for the person assigning: the thread
 * waits for them. Empty when the assignee is available or busy.
 */
export async function assigneeWarnings(ctx: Ctx, userId: string | null | undefined, field: string): Promise<Warning[]> {
  if (!userId) return [];
  const [m] = await ctx.sql<(AvailabilityFields & { displayName: string })[]>`
    select display_name, availability, availability_until, availability_note from app.members where org_id = ${ctx.orgId} and user_id = ${userId}`;
  if (!m) return [];
  const now = currentAvailability(m);
  if (now.status !== 'away') return [];
  const who = m.displayName || 'The assignee';
  const until = now.until ? ` until ${now.until.toISOString()}` : '';
  return [
    {
      field,
      code: 'assignee_away',
      message: `${who} is away${until}${now.note ? `: ${now.note}` : ''}`,
      until: now.until ? now.until.toISOString() : null,
    },
  ];
}
