// Who an `Authorization: Bearer bx_live_...` request is: the key's id, organization, effective role (its
// ceiling, never above its creator's current role) and scopes. Looked up on every request by prefix and
// SHA-256 through app.authenticate_api_key (no cache: a revoked or expired key is refused at once).
import { db } from '../db/client.js';
import { AppError } from '../errors.js';
import type { Role } from '../http/permissions.js';
import { API_KEY_PATTERN, apiKeyHash, apiKeyPrefix } from './token.js';

export interface ApiKeyPrincipal {
  keyId: string;
  orgId: string;
  role: Role;
  scopes: readonly string[] | null;
}

export const isApiKey = (token: string) => token.startsWith('bx_live_');

export async function authenticateApiKey(key: string): Promise<ApiKeyPrincipal> {
  if (!API_KEY_PATTERN.test(key)) throw new AppError('unauthorized', 'The API key is malformed');
  const sql = await db();
  const [row] = await sql<{ id: string; orgId: string; role: Role; scopes: string[] | null }[]>`
    select id, org_id, role, scopes from app.authenticate_api_key(${apiKeyPrefix(key)}, ${apiKeyHash(key)})`;
  if (!row) throw new AppError('unauthorized', 'The API key is not valid: unknown, revoked or expired');
  return { keyId: row.id, orgId: row.orgId, role: row.role, scopes: row.scopes };
}
