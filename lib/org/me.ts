// GET /api/me: who the token belongs to and the organizations they can act for (so the web app can
// pick one for X-Org-Id). The only route that needs a valid token but no organization.
import { config } from '../config.js';
import { db } from '../db/client.js';
import { bearerToken, verifyAccessToken } from '../http/auth.js';
import { corsHeaders } from '../http/cors.js';
import { clientIp, enforceRateLimit } from '../http/rate-limit.js';
import { requestIdOf, toErrorResponse } from '../http/route.js';

export async function me(request: Request): Promise<Response> {
  const requestId = requestIdOf(request);
  const headers = new Headers({ ...corsHeaders(request), 'x-request-id': requestId });
  try {
    await enforceRateLimit(`ip:${clientIp(request)}`, config().rateLimit.perIpPerMinute);
    const principal = await verifyAccessToken(bearerToken(request));
    const sql = await db();
    const organizations = await sql`
      select o.id, o.name, o.slug, m.role, m.display_name from app.members m join app.organizations o on o.id = m.org_id
      where m.user_id = ${principal.userId} and m.status = 'active' order by o.name`;
    return Response.json({ userId: principal.userId, email: principal.email ?? null, organizations }, { headers });
  } catch (error) {
    return toErrorResponse(error, requestId, request, headers);
  }
}
