import type { ApiKeyRecord, AuthStore, Role, UserRecord } from '../../store/auth-store.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import { newApiKey, sha256 } from './tokens.js';

// Enough of the key to tell keys apart in a list, far too little to guess the rest.
const KEY_PREFIX_LENGTH = 10;

/** Adds a user after checking the password policy; the password is kept only as an argon2id hash. */
export async function addUser(
  auth: AuthStore,
  user: { readonly name: string; readonly role: Role; readonly password: string },
  nowMs: number,
): Promise<UserRecord> {
  checkPasswordPolicy(user.password);
  return auth.createUser({
    name: user.name,
    role: user.role,
    passwordHash: await hashPassword(user.password),
    createdAt: nowMs,
  });
}

/** Creates an API key for `owner`; the returned `key` exists nowhere else and must be shown to the person now. */
export async function issueApiKey(
  auth: AuthStore,
  owner: UserRecord,
  label: string,
  nowMs: number,
): Promise<{ readonly key: string; readonly record: ApiKeyRecord }> {
  const key = newApiKey();
  const record = await auth.createApiKey({
    userId: owner.id,
    label,
    keyHash: sha256(key),
    keyPrefix: key.slice(0, KEY_PREFIX_LENGTH),
    createdAt: nowMs,
  });
  return { key, record };
}
