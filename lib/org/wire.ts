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
