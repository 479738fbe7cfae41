// A member's own notifications: the list with the unread count (GET /api/notifications), marking them
// read (POST /api/notifications/read, which also cancels their pending mail, and tells the member's
// other screens through `notification.read`), and their delivery preferences
// (GET/PUT /api/me/notification-preferences). RLS lets a member see and mark only their own.
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { forbidden, invalid } from '../errors.js';
import { booleanQuery, csvList, decodeCursor, exactInstant, pageQuery, toPage } from '../pagination.js';
import { recordChange, topics } from '../realtime.js';
import { dateTimeInput, ianaTimeZone, instantIn, now } from '../time.js';
import { scheduleNotificationEmail, type Notification } from './notify.js';
import { columnsOf, DELIVERY_MODES, DIGESTS, modeOf, NOTIFICATION_TYPES, type DeliveryMode, type Digest, type NotificationType } from './types.js';

export const notificationListQuery = z.object({
  ...pageQuery,
  unread: booleanQuery.optional(),
  type: csvList(z.enum(NOTIFICATION_TYPES)),
});

export const notificationRead = z.union([z.strictObject({ ids: z.array(z.uuid()).min(1).max(100) }), z.strictObject({ before: dateTimeInput })]);

const member = (ctx: Ctx): string => {
  if (!ctx.userId) throw forbidden('Notifications belong to a member');
  return ctx.userId;
};

async function unreadCount(ctx: Ctx, userId: string): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`
    select count(*)::int as n from app.notifications where org_id = ${ctx.orgId} and user_id = ${userId} and read_at is null`;
  return row!.n;
}

export async function listNotifications(ctx: Ctx, q: z.infer<typeof notificationListQuery>) {
  const sql = ctx.sql;
  const userId = member(ctx);
  const after = decodeCursor(q.cursor, z.tuple([z.iso.datetime({ offset: true }), z.uuid()]));
  const rows = await sql<(Notification & { sortAt: string })[]>`
    select n.id, n.type, n.title, n.body, n.thread_id, n.entity_type, n.entity_id, n.read_at, n.created_at,
      ${exactInstant(sql, 'n.created_at', 'sort_at')}
    from app.notifications n
    where n.org_id = ${ctx.orgId} and n.user_id = ${userId}
      ${q.unread === true ? sql`and n.read_at is null` : q.unread === false ? sql`and n.read_at is not null` : sql``}
      ${q.type ? sql`and n.type = any(${q.type}::text[])` : sql``}
      ${after ? sql`and (n.created_at, n.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``}
    order by n.created_at desc, n.id desc
    limit ${sql.unsafe(String(q.limit + 1))}`;
  const page = toPage(rows, q.limit, (r) => [r.sortAt, r.id]);
  return { data: page.data.map(({ sortAt: _s, ...n }) => n), nextCursor: page.nextCursor, unreadCount: await unreadCount(ctx, userId) };
}

/** Marks the given notifications, or every one created up to `before`, read; their pending mail is cancelled. */
export async function markNotificationsRead(ctx: Ctx, input: z.infer<typeof notificationRead>) {
  const sql = ctx.sql;
  const userId = member(ctx);
  const readAt = now();
  const which =
    'ids' in input
      ? sql`id = any(${input.ids}::uuid[])`
      : sql`created_at <= ${await instantIn(input.before, await memberTimeZone(ctx, userId), 'body.before')}`;
  const rows = await sql<{ id: string }[]>`
    update app.notifications set read_at = ${readAt},
      email_state = case when email_state = 'pending' then 'cancelled' else email_state end
    where org_id = ${ctx.orgId} and user_id = ${userId} and read_at is null and ${which}
    returning id`;
  const ids = rows.map((r) => r.id).sort();
  const count = await unreadCount(ctx, userId);
  if (ids.length > 0) {
    await recordChange(ctx, { event: 'notification.read', topics: [topics.user(userId)], data: { ids, readAt, unreadCount: count } });
  }
  return { read: ids.length, ids, unreadCount: count };
}

// ---------------------------------------------------------------------------------------------
// Preferences
// ---------------------------------------------------------------------------------------------

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time such as 22:00');

export const preferencesUpdate = z
  .strictObject({
    /** Per type; types not named keep their setting. */
    types: z.partialRecord(z.enum(NOTIFICATION_TYPES), z.enum(DELIVERY_MODES)),
    /** Null: no quiet hours. */
    quietHours: z.strictObject({ start: clockTime, end: clockTime, timeZone: ianaTimeZone.optional() }).nullable(),
    digest: z.enum(DIGESTS),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

export interface Preferences {
  types: Record<NotificationType, DeliveryMode>;
  quietHours: { start: string; end: string; timeZone: string } | null;
  digest: Digest;
  /** The zone quiet hours are read in when they name none: the member's profile's, else the organization's. */
  timeZone: string;
}

async function memberTimeZone(ctx: Ctx, userId: string): Promise<string> {
  const [row] = await ctx.sql<{ tz: string }[]>`
    select coalesce(m.timezone, o.timezone, 'UTC') as tz from app.organizations o
    left join app.members m on m.org_id = o.id and m.user_id = ${userId}
    where o.id = ${ctx.orgId}`;
  return row?.tz ?? 'UTC';
}

export async function getPreferences(ctx: Ctx): Promise<Preferences> {
  const sql = ctx.sql;
  const userId = member(ctx);
  const [rows, [settings], timeZone] = await Promise.all([
    sql<{ type: NotificationType; inApp: boolean; email: boolean }[]>`
      select type, in_app, email from app.notification_preferences where org_id = ${ctx.orgId} and user_id = ${userId}`,
    sql<{ quietStart: string | null; quietEnd: string | null; timeZone: string | null; digest: Digest }[]>`
      select to_char(quiet_start, 'HH24:MI') as quiet_start, to_char(quiet_end, 'HH24:MI') as quiet_end, time_zone, digest
      from app.notification_settings where org_id = ${ctx.orgId} and user_id = ${userId}`,
    memberTimeZone(ctx, userId),
  ]);
  const stored = new Map(rows.map((r) => [r.type, r]));
  const types = Object.fromEntries(NOTIFICATION_TYPES.map((t) => [t, modeOf(t, stored.get(t))])) as Preferences['types'];
  return {
    types,
    quietHours:
      settings?.quietStart && settings.quietEnd ? { start: settings.quietStart, end: settings.quietEnd, timeZone: settings.timeZone ?? timeZone } : null,
    digest: settings?.digest ?? 'immediate',
    timeZone,
  };
}

export async function updatePreferences(ctx: Ctx, input: z.infer<typeof preferencesUpdate>): Promise<Preferences> {
  const sql = ctx.sql;
  const userId = member(ctx);
  for (const [type, mode] of Object.entries(input.types ?? {}) as [NotificationType, DeliveryMode][]) {
    const c = columnsOf(mode);
    await sql`
      insert into app.notification_preferences (org_id, user_id, type, in_app, email)
      values (${ctx.orgId}, ${userId}, ${type}, ${c.inApp}, ${c.email})
      on conflict (org_id, user_id, type) do update set in_app = excluded.in_app, email = excluded.email`;
    // Mail already waiting for a type that no longer mails stays unsent.
    if (mode !== 'email') {
      await sql`
        update app.notifications set email_state = 'cancelled'
        where org_id = ${ctx.orgId} and user_id = ${userId} and type = ${type} and email_state = 'pending'`;
    }
  }
  if (input.quietHours !== undefined || input.digest !== undefined) {
    const q = input.quietHours;
    if (q && q.start === q.end) throw invalid('body.quietHours.end', 'must differ from start');
    await sql`
      insert into app.notification_settings (org_id, user_id, quiet_start, quiet_end, time_zone, digest)
      values (${ctx.orgId}, ${userId}, ${q?.start ?? null}::time, ${q?.end ?? null}::time, ${q?.timeZone ?? null}, ${input.digest ?? 'immediate'})
      on conflict (org_id, user_id) do update set
        ${input.quietHours !== undefined ? sql`quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, time_zone = excluded.time_zone,` : sql``}
        digest = ${input.digest !== undefined ? sql`excluded.digest` : sql`app.notification_settings.digest`}`;
    // Mail already held (by the old quiet hours or digest) follows the new ones: the job runs again and
    // decides anew (sooner, or held again); the run it was held for finds nothing left, or decides the
    // same. The key is per change (a client may send the same x-request-id twice).
    const [held] = await sql<{ dueAt: Date | null }[]>`
      select min(email_due_at) as due_at from app.notifications where org_id = ${ctx.orgId} and user_id = ${userId} and email_state = 'pending'`;
    if (held?.dueAt) {
      const at = now();
      await scheduleNotificationEmail(ctx, userId, held.dueAt > at ? held.dueAt : at, `preferences:${randomUUID()}`);
    }
  }
  const preferences = await getPreferences(ctx);
  await recordChange(ctx, { event: 'notification_preferences.updated', topics: [topics.user(userId)], data: preferences });
  return preferences;
}
