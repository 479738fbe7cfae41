// Who may be named on a record: an owner of a customer, an assignee of a thread or a task must be an
// active member of the acting organization (a user id from another organization is refused), and an
// assignee must be able to work (viewers only read). One check, every route that names a member.
import type { Ctx } from '../context.js';
import { invalid } from '../errors.js';

/** Throws a 422 naming `path` unless userId is an active member (who may work, with `works`). */
export async function requireActiveMember(ctx: Ctx, userId: string, path: string, options: { works?: boolean } = {}): Promise<void> {
  const [member] = await ctx.sql<{ role: string }[]>`
    select role from app.members where org_id = ${ctx.orgId} and user_id = ${userId} and status = 'active'`;
  if (!member) throw invalid(path, 'is not an active member of this organization');
  if (options.works && member.role === 'viewer') throw invalid(path, 'is a viewer, who cannot work threads or tasks');
}
