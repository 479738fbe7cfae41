// Response schemas of members and the caller's own profile, in wire form (see lib/wire.ts).
import * as z from 'zod';
import { ROLES } from '../http/permissions.js';
import { pageOf, wireId, wireInstant } from '../wire.js';
import { AVAILABILITIES } from './availability.js';

/** Availability as of the answer: a busy or away status whose `until` passed reads available. */
export const availabilityWire = z.strictObject({ status: z.enum(AVAILABILITIES), until: wireInstant.nullable(), note: z.string().nullable() });

export const memberWire = z
  .strictObject({
    id: wireId,
    userId: wireId,
    role: z.enum(ROLES),
    displayName: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    status: z.enum(['active', 'disabled']),
    jobTitle: z.string().nullable(),
    timezone: z.string().nullable(),
    availability: availabilityWire,
    createdAt: wireInstant,
    updatedAt: wireInstant,
  })
  .meta({ id: 'Member' });

export const memberPageWire = pageOf(memberWire);

const phoneRegionAssumedWire = z.strictObject({ region: z.string(), source: z.enum(['setting', 'timezone', 'none']), fields: z.array(z.string()) });

/** The caller's own profile in one organization: what others see, and the signature (sanitised HTML). */
export const myProfileWire = memberWire
  .omit({ id: true })
  .extend({ memberId: wireId, orgId: wireId, signature: z.string().nullable(), phoneRegionAssumed: phoneRegionAssumedWire.optional() })
  .meta({ id: 'MyProfile' });

/** A change that went through but deserves the caller's attention (e.g. the assignee is away). */
export const warningWire = z
  .strictObject({ field: z.string(), code: z.string(), message: z.string(), until: wireInstant.nullable().optional() })
  .meta({ id: 'Warning' });

/** GET and PATCH /api/org: the acting organization, its own email domains and the caller's role in it. */
export const organizationWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    slug: z.string(),
    timezone: z.string(),
    plan: z.string(),
    signature: z.string().nullable(),
    /** Appended to outgoing email under the member's own (sanitised HTML). */
    emailSignature: z.string().nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
    /** Where phone numbers typed without a country code are read, and where that comes from. */
    country: z.string().nullable(),
    countrySource: z.enum(['setting', 'timezone', 'none']),
    domains: z.array(z.strictObject({ domain: z.string(), verified: z.boolean() })),
    role: z.enum(ROLES),
  })
  .meta({ id: 'Organization' });

export const teamWire = z
  .strictObject({
    id: wireId,
    name: z.string(),
    description: z.string().nullable(),
    createdAt: wireInstant,
    updatedAt: wireInstant,
    memberIds: z.array(wireId),
    leadIds: z.array(wireId),
    members: z.array(z.strictObject({ userId: wireId, role: z.enum(['lead', 'member']) })),
  })
  .meta({ id: 'Team' });

export const teamPageWire = pageOf(teamWire);

/** PATCH /api/members/{id}: the member, and where a phone typed without a country code was read. */
export const memberUpdatedWire = memberWire.extend({ phoneRegionAssumed: phoneRegionAssumedWire.optional() }).meta({ id: 'MemberUpdated' });

const INVITATION_STATUSES = ['pending', 'accepted', 'declined', 'revoked'] as const;

export const invitationWire = z
  .strictObject({
    id: wireId,
    email: z.string(),
    role: z.enum(ROLES),
    displayName: z.string().nullable(),
    status: z.enum(INVITATION_STATUSES),
    invitedBy: wireId.nullable(),
    expiresAt: wireInstant,
    expired: z.boolean(),
    respondedAt: wireInstant.nullable(),
    /** When its mail was last sent, how often, and why the last one failed. */
    sentAt: wireInstant.nullable(),
    sendCount: z.number().int(),
    deliveryError: z.string().nullable(),
    createdAt: wireInstant,
  })
  .meta({ id: 'Invitation' });

export const invitationPageWire = pageOf(invitationWire);

/** An invitation waiting for the signed-in user (GET /api/me). */
export const myInvitationWire = z
  .strictObject({
    id: wireId,
    orgId: wireId,
    orgName: z.string(),
    role: z.enum(ROLES),
    displayName: z.string().nullable(),
    createdAt: wireInstant,
    expiresAt: wireInstant,
  })
  .meta({ id: 'MyInvitation' });

/** GET /api/me. */
export const meWire = z
  .strictObject({
    userId: wireId,
    email: z.string().nullable(),
    organizations: z.array(z.strictObject({ id: wireId, name: z.string(), slug: z.string(), role: z.enum(ROLES), displayName: z.string() })),
    invitations: z.array(myInvitationWire),
    /** The caller's profile in the acting organization (X-Org-Id, or their only one), else null. */
    profile: myProfileWire.nullable(),
  })
  .meta({ id: 'Me' });

/** Accepting or declining an invitation: its new status, and on acceptance the membership and the organization. */
export const invitationResponseWire = z
  .union([
    z.strictObject({ invitation: z.strictObject({ id: wireId, status: z.literal('declined') }), member: z.null() }),
    z.strictObject({
      invitation: z.strictObject({ id: wireId, status: z.literal('accepted') }),
      member: z.strictObject({
        id: wireId,
        userId: wireId,
        role: z.enum(ROLES),
        displayName: z.string(),
        email: z.string().nullable(),
        phone: z.string().nullable(),
        status: z.enum(['active', 'disabled']),
        createdAt: wireInstant,
        updatedAt: wireInstant,
      }),
      organization: z.strictObject({ id: wireId, name: z.string(), slug: z.string() }),
    }),
  ])
  .meta({ id: 'InvitationResponse' });
