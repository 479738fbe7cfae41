// One-click unsubscribe from notification mail (RFC 8058): each mail carries
// `List-Unsubscribe: <{PUBLIC_BASE_URL}/api/notifications/unsubscribe?token=…>` and
// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; the mail provider POSTs that body to the URL and
// the member gets no more mail of those types (the notifications stay in the app). The token is a JWT
// (jose, HS256) naming the organization, the member and the types, under a key derived from
// ENCRYPTION_KEY (HKDF; links keep working through a key rotation while the old key is in
// ENCRYPTION_PREVIOUS_KEYS). A GET only shows a page whose button makes that POST: mail scanners
// follow links, and RFC 8058 forbids unsubscribing on a GET. Refusals answer the API's error shape.
import { hkdfSync } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import * as z from 'zod';
import { config, publicUrl } from '../config.js';
import { asSystem } from '../context.js';
import { AppError, invalid, notFound } from '../errors.js';
import { readCapped } from '../http/body.js';
import { errorResponse } from '../http/errors.js';
import { log } from '../log.js';
import { requestIdOf } from '../http/route.js';
import { columnsOf, NOTIFICATION_TYPES, type NotificationType } from './types.js';

const PURPOSE = 'banxway:notification-unsubscribe';

const keyFrom = (key: Buffer) => new Uint8Array(hkdfSync('sha256', key, Buffer.alloc(0), PURPOSE, 32));

const claims = z.object({
  org: z.uuid(),
  sub: z.uuid(),
  types: z.array(z.enum(NOTIFICATION_TYPES)).min(1).max(NOTIFICATION_TYPES.length),
  purpose: z.literal(PURPOSE),
});
export type UnsubscribeClaims = Pick<z.infer<typeof claims>, 'org' | 'sub' | 'types'>;

/** The signed token of one member's unsubscribe link for these types (no expiry: RFC 8058 links keep working). */
export async function unsubscribeToken(orgId: string, userId: string, types: NotificationType[]): Promise<string> {
  const c = config().encryption;
  return new SignJWT({ org: orgId, types: [...new Set(types)].sort(), purpose: PURPOSE })
    .setProtectedHeader({ alg: 'HS256', kid: c.keyId })
    .setSubject(userId)
    .setIssuedAt()
    .sign(keyFrom(c.key));
}

export async function unsubscribeUrl(orgId: string, userId: string, types: NotificationType[]): Promise<string> {
  return publicUrl(`/api/notifications/unsubscribe?token=${await unsubscribeToken(orgId, userId, types)}`);
}

/** The token's claims, or null when no key of ours signed it (or it is not an unsubscribe token). */
export async function readUnsubscribeToken(token: string): Promise<UnsubscribeClaims | null> {
  const c = config().encryption;
  for (const key of [c.key, ...c.previous.values()]) {
    try {
      const { payload } = await jwtVerify(token, keyFrom(key), { algorithms: ['HS256'] });
      const parsed = claims.safeParse(payload);
      return parsed.success ? { org: parsed.data.org, sub: parsed.data.sub, types: parsed.data.types } : null;
    } catch {
      // another key may have signed it
    }
  }
  return null;
}

const page = (status: number, title: string, body: string) =>
  new Response(
    `<!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${title}</title></head>` +
      `<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">${body}</body></html>`,
    { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } },
  );

const TYPE_NAMES: Record<NotificationType, string> = {
  mention: 'mentions',
  assignment: 'assignments',
  inbound_message: 'new messages on your threads',
  sla_warning: 'SLA warnings',
  sla_breach: 'SLA breaches',
  action_due: 'tasks coming due',
  action_overdue: 'overdue tasks',
  missed_call: 'missed calls',
  automation: 'automation notices',
  system: 'system notices',
};
const listed = (types: NotificationType[]) => types.map((t) => TYPE_NAMES[t]).join(', ');

/** GET: a page with one button that makes the one-click POST (no change on a GET). */
export async function unsubscribePage(request: Request): Promise<Response> {
  const token = new URL(request.url).searchParams.get('token') ?? '';
  const found = token ? await readUnsubscribeToken(token) : null;
  if (!found) return errorResponse(notFound('Unsubscribe link'), requestIdOf(request));
  const action = `/api/notifications/unsubscribe?token=${encodeURIComponent(token)}`;
  return page(
    200,
    'Unsubscribe',
    `<p>Stop emails about ${listed(found.types)}? You will still see them in Banxway.</p>` +
      `<form method="post" action="${action}"><input type="hidden" name="List-Unsubscribe" value="One-Click">` +
      '<button type="submit">Unsubscribe</button></form>',
  );
}

/** A one-click POST's body is a few dozen bytes; more is not a mail provider's. */
const ONE_CLICK_MAX_BYTES = 16_384;

/**
 * The body's List-Unsubscribe field. RFC 8058 3.1 has the mail provider POST it as
 * multipart/form-data (Gmail, Yahoo), or application/x-www-form-urlencoded (the page's form, other
 * providers); a body of any other type is read as urlencoded. Null when the field is missing or the
 * multipart body does not parse.
 */
async function oneClickField(request: Request): Promise<string | null> {
  const tooLarge = () => new AppError('payload_too_large', `The body is larger than ${ONE_CLICK_MAX_BYTES} bytes`);
  const raw = await readCapped(request, ONE_CLICK_MAX_BYTES, tooLarge);
  const type = request.headers.get('content-type') ?? '';
  if (/^\s*multipart\/form-data\b/i.test(type)) {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData().catch(() => null);
    const value = form?.get('List-Unsubscribe');
    return typeof value === 'string' ? value.trim() : null;
  }
  return new URLSearchParams(raw.toString('utf8')).get('List-Unsubscribe')?.trim() ?? null;
}

/** POST (RFC 8058 one-click): the member's mail for the token's types stops; answered 200 even when already off. */
export async function unsubscribe(request: Request): Promise<Response> {
  const requestId = requestIdOf(request);
  const token = new URL(request.url).searchParams.get('token') ?? '';
  const found = token ? await readUnsubscribeToken(token) : null;
  if (!found) return errorResponse(notFound('Unsubscribe link'), requestId);
  let field: string | null;
  try {
    field = await oneClickField(request);
  } catch (error) {
    if (error instanceof AppError) return errorResponse(error, requestId);
    throw error;
  }
  if (field !== 'One-Click') return errorResponse(invalid('body.List-Unsubscribe', 'must be One-Click (RFC 8058)'), requestId);
  const changed = await asSystem(found.org, requestId, [], async (ctx) => {
    const [member] = await ctx.sql`select 1 as found from app.members where org_id = ${ctx.orgId} and user_id = ${found.sub}`;
    if (!member) return false;
    const off = columnsOf('in_app');
    for (const type of found.types) {
      // Mail stops; whatever the member had in the app stays (a type already off stays off).
      await ctx.sql`
        insert into app.notification_preferences (org_id, user_id, type, in_app, email)
        values (${ctx.orgId}, ${found.sub}, ${type}, ${off.inApp}, false)
        on conflict (org_id, user_id, type) do update set email = false`;
    }
    await ctx.sql`
      update app.notifications set email_state = 'cancelled'
      where org_id = ${ctx.orgId} and user_id = ${found.sub} and email_state = 'pending' and type = any(${found.types}::text[])`;
    return true;
  });
  if (!changed) return errorResponse(notFound('Unsubscribe link'), requestId);
  log.info('notification mail unsubscribed', { requestId, orgId: found.org, userId: found.sub, types: found.types });
  return page(200, 'Unsubscribed', `<p>You will get no more emails about ${listed(found.types)}. You still see them in Banxway.</p>`);
}
