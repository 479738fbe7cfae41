// One unit of work for a caller outside route(): the MCP server's tool calls. The same steps route()
// takes inside its transaction (membership or API key claims, the role-by-action check with the key's
// scopes), then the work, COMMIT, and the jobs it queued published afterwards.
import type { Ctx, QueuedJob } from '../context.js';
import { db, type Sql, type Tx } from '../db/client.js';
import { AppError } from '../errors.js';
import { publishJobs } from '../jobs/publish.js';
import { log } from '../log.js';
import { can, keyCan, type Action } from './permissions.js';
import type { Caller } from './rate-limit.js';
import { actAsApiKey, actAsMember } from './route.js';

export async function actAs<T>(
  caller: Caller,
  options: { requestId: string; orgHeader: string | null; action: Action },
  fn: (ctx: Ctx) => Promise<T>,
): Promise<T> {
  const sql = await db();
  const jobs: QueuedJob[] = [];
  const result = (await (sql as Sql).begin(async (raw) => {
    const tx = raw as unknown as Tx;
    const membership =
      caller.kind === 'api_key'
        ? await actAsApiKey(tx, caller.key, options.orgHeader, false)
        : await actAsMember(tx, caller.principal, options.orgHeader, false);
    if (!can(membership.role, options.action)) throw new AppError('forbidden', `Your role (${membership.role}) does not allow ${options.action}`);
    if (caller.kind === 'api_key' && !keyCan(membership.role, caller.key.scopes, options.action)) {
      throw new AppError('forbidden', `This API key may not ${options.action}`);
    }
    const ctx: Ctx = {
      requestId: options.requestId,
      userId: caller.kind === 'user' ? caller.principal.userId : null,
      orgId: membership.orgId,
      role: membership.role,
      sql: tx,
      jobs,
      ...(caller.kind === 'api_key' ? { apiKey: { id: caller.key.keyId, scopes: caller.key.scopes } } : {}),
    };
    return fn(ctx);
  })) as T;
  if (jobs.length > 0) {
    await publishJobs(jobs).catch((error: unknown) =>
      log.error('publishing jobs after commit failed; the sweeper will publish them', { requestId: options.requestId, error }),
    );
  }
  return result;
}
