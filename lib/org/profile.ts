// A member's own profile in the acting organization: display name, phone (which click-to-call rings),
// job title, email signature, time zone and availability. Every member edits their own (viewers too:
// it is theirs, not the organization's data); role and status stay with PATCH /api/members/{id}.
// What other members see of it is memberView: the members list and the member.updated event show the
// same fields, never the signature.
import * as z from 'zod';
import type { Ctx } from '../context.js';
import { phoneNumber } from '../customers/service.js';
import { sanitizedSignature, signatureHtml } from '../email/signature.js';
import { invalid, notFound } from '../errors.js';
import { recordChange, topics } from '../realtime.js';
import { dateTimeInput, ianaTimeZone, instantIn } from '../time.js';
import { whenFieldsValid } from '../validation.js';
import { AVAILABILITIES, currentAvailability, type Availability } from './availability.js';
import { normalizePhones, type AssumedRegion } from './region.js';

export const profileUpdate = z
  .strictObject({
    displayName: z.string().trim().min(1).max(200),
    // E.164 after normalising (a number without its country code is read in the organization's country).
    phone: phoneNumber.nullable(),
    jobTitle: z.string().trim().max(200).nullable(),
    // HTML, sanitised before it is stored (lib/email/html.ts sanitizeSignatureHtml).
    signature: signatureHtml.nullable(),
    timezone: ianaTimeZone.nullable(),
    availability: z
      .strictObject({
        status: z.enum(AVAILABILITIES),
        // An instant, or a wall-clock time in the member's time zone (else the organization's).
        until: dateTimeInput.nullable().optional(),
        note: z.string().trim().max(500).nullable().optional(),
      })
      .superRefine((v, c) => {
        if (v.status === 'available' && v.until) c.addIssue({ code: 'custom', path: ['until'], message: 'only goes with busy or away' });
      }, whenFieldsValid),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'must change at least one field');

/** The columns memberView needs (table alias m). */
export const memberColumns = (sql: Ctx['sql']) => sql`
  m.id, m.user_id, m.role, m.display_name, m.email, m.phone, m.status, m.job_title, m.timezone,
  m.availability, m.availability_until, m.availability_note, m.created_at, m.updated_at`;

interface MemberRow {
  id: string;
  userId: string;
  role: string;
  displayName: string;
  email: string | null;
  phone: string | null;
  status: string;
  jobTitle: string | null;
  timezone: string | null;
  availability: Availability;
  availabilityUntil: Date | null;
  availabilityNote: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A member as the organization sees them (members list, member.updated): availability as of now. */
export function memberView(row: MemberRow) {
  const { availability, availabilityUntil, availabilityNote, ...rest } = row;
  return { ...rest, availability: currentAvailability({ availability, availabilityUntil, availabilityNote }) };
}

export type MemberView = ReturnType<typeof memberView>;

export async function listMemberViews(ctx: Ctx): Promise<MemberView[]> {
  const rows = await ctx.sql<MemberRow[]>`
    select ${memberColumns(ctx.sql)} from app.members m where m.org_id = ${ctx.orgId} order by m.display_name, m.id`;
  return rows.map(memberView);
}

export async function memberViewById(ctx: Ctx, id: string): Promise<MemberView> {
  const [row] = await ctx.sql<MemberRow[]>`select ${memberColumns(ctx.sql)} from app.members m where m.id = ${id} and m.org_id = ${ctx.orgId}`;
  if (!row) throw notFound('Member');
  return memberView(row);
}

/** The caller's own profile: what others see, and their signature. */
export async function myProfile(ctx: Pick<Ctx, 'sql' | 'orgId' | 'userId'>) {
  const [row] = await ctx.sql<(MemberRow & { signatureHtml: string | null })[]>`
    select ${memberColumns(ctx.sql)}, m.signature_html from app.members m where m.org_id = ${ctx.orgId} and m.user_id = ${ctx.userId}`;
  if (!row) throw notFound('Member');
  const { signatureHtml: signature, ...member } = row;
  const { id, ...view } = memberView(member);
  return { memberId: id, orgId: ctx.orgId, ...view, signature };
}

export async function updateMyProfile(ctx: Ctx, raw: z.infer<typeof profileUpdate>) {
  const { value: input, assumed } = await normalizePhones(ctx, raw, ['phone'], 'body');
  const changes: Record<string, unknown> = {};
  if (input.displayName !== undefined) changes.displayName = input.displayName;
  if (input.phone !== undefined) changes.phone = input.phone;
  if (input.jobTitle !== undefined) changes.jobTitle = input.jobTitle || null;
  if (input.timezone !== undefined) changes.timezone = input.timezone;
  if (input.signature !== undefined) changes.signatureHtml = await sanitizedSignature(input.signature);
  if (input.availability) {
    const a = input.availability;
    let until: Date | null = null;
    if (a.until) {
      const [tz] = await ctx.sql<{ timezone: string }[]>`
        select coalesce(${input.timezone ?? null}::text, m.timezone, o.timezone) as timezone
        from app.members m join app.organizations o on o.id = m.org_id where m.org_id = ${ctx.orgId} and m.user_id = ${ctx.userId}`;
      until = await instantIn(a.until, tz!.timezone, 'body.availability.until');
      if (until.getTime() <= Date.now()) throw invalid('body.availability.until', 'must be in the future');
    }
    Object.assign(changes, { availability: a.status, availabilityUntil: until, availabilityNote: a.status === 'available' ? null : (a.note ?? null) });
  }
  const [row] = await ctx.sql<{ id: string }[]>`
    update app.members set ${ctx.sql(changes as never)} where org_id = ${ctx.orgId} and user_id = ${ctx.userId} returning id`;
  if (!row) throw notFound('Member');
  const member = await memberViewById(ctx, row.id);
  // What the members list shows, to the organization and the member's other sessions.
  await recordChange(ctx, {
    event: 'member.updated',
    topics: [topics.org(ctx.orgId), topics.user(ctx.userId!)],
    data: member,
    audit: {
      action: 'member.profile_updated',
      entityType: 'member',
      entityId: row.id,
      data: { ...input, ...(input.signature !== undefined ? { signature: 'changed' } : {}) },
    },
  });
  const profile = await myProfile(ctx);
  return assumed ? { ...profile, phoneRegionAssumed: assumed satisfies AssumedRegion } : profile;
}
