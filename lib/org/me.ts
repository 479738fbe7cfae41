// GET /api/me: who the token belongs to, the organizations they can act for (so the web app can pick
// one for X-Org-Id), the invitations waiting for them and, when an organization is acting (X-Org-Id, or
// the only one they belong to), their profile in it. Users without any organization get the same
// answer with `profile: null`, as do users of several organizations who name none.
import type { Tx } from '../db/client.js';
import { AppError, invalid } from '../errors.js';
import type { Principal } from '../http/auth.js';
import { myInvitations } from './invitations.js';
import { myProfile } from './profile.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function me(sql: Tx, principal: Principal, orgHeader: string | null = null) {
  if (orgHeader !== null && !UUID.test(orgHeader)) throw invalid('header.x-org-id', 'must be an organization id (uuid)');
  const organizations = await sql<{ id: string; role: string }[]>`select id, name, slug, role, display_name from app.my_organizations()`;
  const invitations = await myInvitations(sql);
  const acting = orgHeader ? organizations.find((o) => o.id === orgHeader.toLowerCase()) : organizations.length === 1 ? organizations[0] : undefined;
  if (orgHeader && !acting) throw new AppError('not_found', 'Organization not found');
  let profile = null;
  if (acting) {
    // As the member of that organization from here on: RLS shows its rows.
    await sql`select set_config('request.jwt.claims', ${JSON.stringify({
      sub: principal.userId,
      role: 'authenticated',
      org_id: acting.id,
      org_role: acting.role,
      email: principal.email ?? null,
    })}, true)`;
    profile = await myProfile({ sql, orgId: acting.id, userId: principal.userId });
  }
  return { userId: principal.userId, email: principal.email ?? null, organizations, invitations, profile };
}
