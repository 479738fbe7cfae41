import { afterEach, describe, expect, it } from 'vitest';
import { config, parseConfig, setConfig } from '../../lib/config.js';
import { needsRotation, openSecret, sealSecret, SecretUnavailableError } from '../../lib/crypto/secrets.js';

const key = (n: number) => Buffer.alloc(32, n).toString('base64');
const saved = config();
afterEach(() => setConfig(saved));

describe('channel secrets', () => {
  it('round-trips, never stores the plaintext, and binds the organization', () => {
    const sealed = sealSecret({ password: 'imap-pass-123' }, 'org-a');
    expect(sealed.ciphertext).not.toContain('imap-pass');
    expect(sealed.keyId).toBe('k1');
    expect(openSecret(sealed, 'org-a')).toEqual({ password: 'imap-pass-123' });
    expect(() => openSecret(sealed, 'org-b')).toThrow(SecretUnavailableError);
    expect(sealSecret('x', 'org-a').ciphertext).not.toBe(sealSecret('x', 'org-a').ciphertext);
  });

  it('detects tampering', () => {
    const sealed = sealSecret('token', 'org-a');
    const raw = Buffer.from(sealed.ciphertext, 'base64url');
    raw[14] = raw[14]! ^ 1;
    expect(() => openSecret({ ...sealed, ciphertext: raw.toString('base64url') }, 'org-a')).toThrow(SecretUnavailableError);
  });

  it('keeps old secrets readable after a key rotation', () => {
    setConfig(parseConfig({ ENCRYPTION_KEY: key(1), ENCRYPTION_KEY_ID: 'k1' }));
    const old = sealSecret({ refreshToken: 'r1' }, 'org-a');
    setConfig(parseConfig({ ENCRYPTION_KEY: key(2), ENCRYPTION_KEY_ID: 'k2', ENCRYPTION_PREVIOUS_KEYS: `k1:${key(1)}` }));
    expect(needsRotation(old)).toBe(true);
    expect(openSecret(old, 'org-a')).toEqual({ refreshToken: 'r1' });
    setConfig(parseConfig({ ENCRYPTION_KEY: key(2), ENCRYPTION_KEY_ID: 'k2' }));
    expect(() => openSecret(old, 'org-a')).toThrow(/No encryption key with id k1/);
  });
});
