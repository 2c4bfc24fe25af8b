import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from './errors.js';
import { Secret } from './secret.js';

const FORMAT_VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;

/**
 * Encrypts secrets at rest with AES-256-GCM. The authentication tag makes a wrong key fail loudly instead of
 * yielding garbage, which is how a node started with another installation's key is told apart.
 */
export class SecretBox {
  #key: Buffer | (() => Buffer);

  /**
   * `key` may be a function, called once when the box is first used: an installation that never encrypts
   * anything then never creates a key.
   */
  constructor(key: Buffer | (() => Buffer)) {
    this.#key = typeof key === 'function' ? key : checkedKey(key);
  }

  static generateKey(): Buffer {
    return randomBytes(KEY_BYTES);
  }

  /**
   * Accepts the key as base64 or 64 hex characters, as written in the key file or ZEROTRAIL_SECRET_KEY; `given`
   * names where a wrong one came from.
   */
  static parseKey(text: string, given = 'The secret key'): Buffer {
    const trimmed = text.trim();
    const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new AppError('SECRET_KEY_INVALID', {
        message: `${given} must decode to ${KEY_BYTES} bytes; it decodes to ${key.length}.`,
        hint: 'Use 32 random bytes, base64 encoded (for example: openssl rand -base64 32).',
      });
    }
    return key;
  }

  encrypt(secret: Secret): string {
    return this.encryptText(secret.reveal());
  }

  decrypt(sealed: string): Secret {
    return new Secret(this.decryptText(sealed));
  }

  encryptText(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#usableKey(), iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      FORMAT_VERSION,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      body.toString('base64'),
    ].join(':');
  }

  decryptText(sealed: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== FORMAT_VERSION || iv === undefined || tag === undefined || body === undefined) {
      throw new AppError('SECRET_KEY_INVALID', {
        message: 'A stored secret has an unknown format; the database may come from a newer zerotrail.',
      });
    }
    const key = this.#usableKey();
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new AppError('SECRET_KEY_INVALID', {
        message: 'The stored tokens were encrypted with a different secret key than the one this process has.',
        hint: 'Start zerotrail with the key of this installation (the secret.key file in its data directory, or ZEROTRAIL_SECRET_KEY).',
        cause: error,
      });
    }
  }

  #usableKey(): Buffer {
    if (typeof this.#key === 'function') this.#key = checkedKey(this.#key());
    return this.#key;
  }
}

function checkedKey(key: Buffer): Buffer {
  if (key.length !== KEY_BYTES) {
    throw new AppError('SECRET_KEY_INVALID', {
      message: `The secret key must be ${KEY_BYTES} bytes (base64 or hex encoded).`,
    });
  }
  return key;
}
