// What reply templates and macros have in common: each is shared with the organization (managers write
// those: templates.manage) or personal (its owner's alone; RLS hides it from the others), announced
// where it is visible, and named uniquely there.
import type { Ctx } from '../context.js';
import { conflict, forbidden } from '../errors.js';
import { can, keyCan } from '../http/permissions.js';
import { recordChange, topics, type EventsOf } from '../realtime.js';

export const VISIBILITIES = ['organization', 'personal'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** How an item is named in messages and in the audit log. */
export interface Kind {
  /** Plural, in messages: `templates`, `macros`. */
  plural: string;
  /** Singular, in messages: `template`, `macro`. */
  singular: string;
  /** The audit row's entity type. */
  entityType: string;
}

/**
 * Shared items are the managers' to write (templates.manage); personal ones their owner's. An API key
 * needs the templates.manage scope as well as the role (its routes ask for threads.write only).
 */
export function requireMayWrite(ctx: Ctx, kind: Kind, visibility: Visibility) {
  if (visibility === 'organization' && !can(ctx.role as never, 'templates.manage')) {
    throw forbidden(`Your role (${ctx.role}) does not allow changing the organization's shared ${kind.plural} (templates.manage): make it personal`);
  }
  if (visibility === 'organization' && ctx.apiKey && !keyCan(ctx.role as never, ctx.apiKey.scopes, 'templates.manage')) {
    throw forbidden(`This API key may not change the organization's shared ${kind.plural}: it needs the templates.manage scope`);
  }
  if (visibility === 'personal' && !ctx.userId) throw forbidden(`Only members have personal ${kind.plural}`);
}

/** The event on the owner's topic for a personal item, on the organization's for a shared one; audited. */
export async function announceItem(
  ctx: Ctx,
  kind: Kind,
  event: EventsOf<'reply_template' | 'macro'>,
  item: { id: string; ownerId: string | null },
  data: unknown,
) {
  const topic = item.ownerId ? topics.user(item.ownerId) : topics.org(ctx.orgId);
  await recordChange(ctx, { event, topics: [topic], data, audit: { entityType: kind.entityType, entityId: item.id } });
}

/** Runs the insert or update; a unique violation (the name, where the item is visible) is a 409 naming body.name. */
export async function uniqueName<T>(kind: Kind, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw conflict(`body.name: there is already a ${kind.singular} named "${name}" here`, { issues: [{ path: 'body.name', message: 'is taken' }] });
    }
    throw error;
  }
}
