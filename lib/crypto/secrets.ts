// Channel secrets at rest: AES-256-GCM under ENCRYPTION_KEY, with the key id stored beside the
// ciphertext so keys can rotate (old keys stay readable through ENCRYPTION_PREVIOUS_KEYS).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { config } from '../config.js';

export interface SealedSecret {
  keyId: string;
  /** base64url of iv (12 bytes) | ciphertext | tag (16 bytes) */
  ciphertext: string;
}

/** Encrypts a JSON-serialisable secret; the org id is bound as associated data. */
export function sealSecret(value: unknown, orgId: string): SealedSecret {
  const { keyId, key } = config().encryption;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(orgId));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return { keyId, ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url') };
}

export class SecretUnavailableError extends Error {
  override name = 'SecretUnavailableError';
}

export function openSecret<T = unknown>(sealed: SealedSecret, orgId: string): T {
  const { keyId, key, previous } = config().encryption;
  const k = sealed.keyId === keyId ? key : previous.get(sealed.keyId);
  if (!k) throw new SecretUnavailableError(`No encryption key with id ${sealed.keyId} is configured`);
  const raw = Buffer.from(sealed.ciphertext, 'base64url');
  if (raw.length < 29) throw new SecretUnavailableError('The stored secret is truncated');
  const decipher = createDecipheriv('aes-256-gcm', k, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(orgId));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  try {
    const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as T;
  } catch {
    throw new SecretUnavailableError('The stored secret cannot be decrypted with its key');
  }
}

/** True when the secret was sealed with an older key and should be re-sealed with the current one. */
export function needsRotation(sealed: SealedSecret): boolean {
  return sealed.keyId !== config().encryption.keyId;
}
