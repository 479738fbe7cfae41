// GET /api/me: who the token belongs to, the organizations they can act for (so the web app can pick
// one for X-Org-Id) and the invitations waiting for them.
import type { Tx } from '../db/client.js';
import type { Principal } from '../http/auth.js';
import { myInvitations } from './invitations.js';

export async function me(sql: Tx, principal: Principal) {
  const organizations = await sql`select id, name, slug, role, display_name from app.my_organizations()`;
  return { userId: principal.userId, email: principal.email ?? null, organizations, invitations: await myInvitations(sql) };
}
