import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { AuthError } from '../../core/errors.js';

/** NIST SP 800-63B asks for at least 8; a shared security tool's admins can afford 12. */
export const MIN_PASSWORD_LENGTH = 12;
// Bounds the work an attacker can make argon2 do with one request.
export const MAX_PASSWORD_LENGTH = 1024;

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): about 30 ms here, slow enough per guess.
// `Algorithm` is an ambient const enum, which isolated modules cannot read; 2 is its Argon2id member.
const ARGON2ID_OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function checkPasswordPolicy(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new AuthError('AUTH_PASSWORD_WEAK', {
      message: `The password must have at least ${MIN_PASSWORD_LENGTH} characters (and at most ${MAX_PASSWORD_LENGTH}).`,
      hint: 'A passphrase of a few unrelated words is long enough and easy to type.',
    });
  }
}

/** An argon2id PHC string with its own random salt. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID_OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    // A malformed stored hash verifies nothing; the caller answers "wrong name or password".
    return false;
  }
}
