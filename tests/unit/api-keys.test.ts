// API key strings and what a key may do: the shape, the prefix and hash, and the permission table
// narrowed by scopes (keys never manage keys).
import { describe, expect, it } from 'vitest';
import { API_KEY_PATTERN, apiKeyHash, apiKeyPrefix, newApiKey } from '../../lib/api-keys/token.js';
import { can, keyCan, PERMISSIONS, ROLES, type Action } from '../../lib/http/permissions.js';

describe('API key strings', () => {
  it('are bx_live_ and 44 base62 characters, a 20-character prefix and a SHA-256 of the whole key', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const k = newApiKey();
      expect(k.key).toMatch(API_KEY_PATTERN);
      expect(k.prefix).toBe(apiKeyPrefix(k.key));
      expect(k.prefix).toMatch(/^bx_live_[A-Za-z0-9]{12}$/);
      expect(k.hash).toBe(apiKeyHash(k.key));
      expect(k.hash).toMatch(/^[0-9a-f]{64}$/);
      seen.add(k.prefix);
    }
    expect(seen.size).toBe(50);
  });
});

describe('keyCan', () => {
  const actions = Object.keys(PERMISSIONS) as Action[];
  it('is the role table without scopes, minus what only members do', () => {
    for (const role of ROLES) {
      for (const action of actions) {
        const memberOnly = action === 'api_keys.manage' || action === 'profile.update';
        expect(keyCan(role, null, action), `${role} ${action}`).toBe(can(role, action) && !memberOnly);
      }
    }
  });
  it('narrows to the scopes, never beyond the role', () => {
    expect(keyCan('agent', ['threads.read'], 'threads.read')).toBe(true);
    expect(keyCan('agent', ['threads.read'], 'threads.write')).toBe(false);
    expect(keyCan('viewer', ['threads.write'], 'threads.write')).toBe(false);
    expect(keyCan('owner', ['api_keys.manage'], 'api_keys.manage')).toBe(false);
  });
});
