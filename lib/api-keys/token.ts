// API key strings: `bx_live_` + 12 characters of prefix (stored and shown, indexed for lookup) + 32
// secret characters, all base62. Only the SHA-256 of the whole key is stored; the key is shown once.
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const API_KEY_PATTERN = /^bx_live_[A-Za-z0-9]{44}$/;
const PREFIX_LENGTH = 'bx_live_'.length + 12;

/** n uniformly random base62 characters (rejection sampling: no modulo bias). */
function base62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const byte of randomBytes(n * 2)) {
      if (byte < 248 && out.length < n) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export const apiKeyHash = (key: string) => createHash('sha256').update(key).digest('hex');
export const apiKeyPrefix = (key: string) => key.slice(0, PREFIX_LENGTH);

export function newApiKey(): { key: string; prefix: string; hash: string } {
  const key = `bx_live_${base62(44)}`;
  return { key, prefix: apiKeyPrefix(key), hash: apiKeyHash(key) };
}
