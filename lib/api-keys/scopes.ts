// The one rule for what only some keys may do: a member may always; an API key only when it was
// scoped to it (sending replies is never part of a key's role alone).
import type { Ctx } from '../context.js';
import { AppError } from '../errors.js';
import type { ApiKeyScope } from '../http/permissions.js';

export function requireKeyScope(ctx: Ctx, scope: ApiKeyScope, what: string): void {
  if (!ctx.apiKey) return;
  if (!ctx.apiKey.scopes?.includes(scope)) throw new AppError('forbidden', `This API key may not ${what}: it needs the ${scope} scope`);
}

/** Who wrote a record an actor may change as its own: the member, or the API key (kept in metadata). */
export function isOwnRecord(ctx: Ctx, authorId: string | null, metadata: unknown): boolean {
  if (ctx.apiKey) return (metadata as { apiKeyId?: string } | null)?.apiKeyId === ctx.apiKey.id;
  return authorId === ctx.userId;
}
