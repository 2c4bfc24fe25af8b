import { NotFoundError } from '../../core/errors.js';
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

/** Every API key with the user it acts as (undefined for a key whose user is gone), in the store's order. */
export async function apiKeysWithOwners(
  auth: AuthStore,
): Promise<readonly { readonly key: ApiKeyRecord; readonly owner: UserRecord | undefined }[]> {
  const owners = new Map((await auth.listUsers()).map((user) => [user.id, user]));
  return (await auth.listApiKeys()).map((key) => ({ key, owner: owners.get(key.userId) }));
}

/**
 * Revokes the API key `id`: it stops working at once. Throws HTTP_NOT_FOUND when no such key is left (never
 * issued, or revoked already); `hint` says where the caller lists the keys.
 */
export async function revokeApiKey(
  auth: AuthStore,
  id: number,
  hint?: string,
): Promise<{ readonly key: ApiKeyRecord; readonly owner: UserRecord | undefined }> {
  const key = (await auth.listApiKeys()).find((candidate) => candidate.id === id);
  if (key === undefined || !(await auth.deleteApiKey(key.id))) throw apiKeyNotFound(id, hint);
  return { key, owner: await auth.userById(key.userId) };
}

export function apiKeyNotFound(id: number, hint?: string): NotFoundError {
  return new NotFoundError('HTTP_NOT_FOUND', {
    message: `No API key has the id ${id}; it may be revoked already.`,
    ...(hint === undefined ? {} : { hint }),
  });
}
