import { z } from 'zod';
import { wholeNumberText } from '../../core/number-text.js';
import { AuthError, NotFoundError } from '../../core/errors.js';
import { ROLES, type AuditAction, type UserChange, type UserRecord } from '../../store/auth-store.js';
import { addUser, apiKeysWithOwners, issueApiKey, revokeApiKey } from '../auth/accounts.js';
import { MAX_PASSWORD_LENGTH } from '../auth/passwords.js';
import { signedIn, type Principal } from '../auth/authenticate.js';
import { defineRoute, type ServerServices } from './route.js';

export const USER_NAME = z
  .string()
  .trim()
  .min(1, 'a user name is required')
  .max(100, 'at most 100 characters')
  .regex(/^[\p{L}\p{N}._@+-]+$/u, 'letters, digits and . _ @ + - only');

export const USER_ROLE = z.enum(ROLES);

export function describeUser(user: UserRecord): Record<string, unknown> {
  return { name: user.name, role: user.role, createdAt: new Date(user.createdAt).toISOString() };
}

export const LIST_USERS_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/users',
  summary: 'zerotrail users and their roles',
  access: ['admin'],
  handler: async ({ services }) => ({ users: (await services.auth.listUsers()).map(describeUser) }),
});

export const ADD_USER_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/users',
  summary: 'Add a zerotrail user with a role and an initial password',
  access: ['admin'],
  status: 201,
  body: z.object({ name: USER_NAME, role: USER_ROLE, password: z.string().max(MAX_PASSWORD_LENGTH) }),
  handler: async ({ body, principal, request, services }) => {
    const caller = signedIn(principal);
    const user = await addUser(services.auth, body, services.app.clock.now());
    await services.audit({
      actor: caller.name,
      action: 'user_added',
      target: user.name,
      outcome: 'success',
      ip: request.ip,
      details: { role: user.role },
    });
    return { user: describeUser(user) };
  },
});

const userParams = z.object({ name: USER_NAME });

export const SET_USER_ROLE_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/users/:name/role',
  summary: "Change a user's role; refused when it would leave no admin",
  access: ['admin'],
  params: userParams,
  body: z.object({ role: USER_ROLE }),
  handler: async ({ params, body, principal, request, services }) => {
    const caller = signedIn(principal);
    const user = await knownUser(services, params.name);
    const change = await services.auth.setUserRole(user.id, body.role);
    await auditChange(services, caller, request.ip, 'user_role_changed', user, change, {
      from: user.role,
      to: body.role,
    });
    return { user: describeUser({ ...user, role: body.role }) };
  },
});

export const REMOVE_USER_ROUTE = defineRoute({
  method: 'DELETE',
  url: '/api/users/:name',
  summary: 'Remove a user with their sessions and API keys; refused for the last admin',
  access: ['admin'],
  params: userParams,
  handler: async ({ params, principal, request, services }) => {
    const caller = signedIn(principal);
    const user = await knownUser(services, params.name);
    const change = await services.auth.deleteUser(user.id);
    await auditChange(services, caller, request.ip, 'user_removed', user, change, { role: user.role });
    return { removed: user.name };
  },
});

async function knownUser(services: ServerServices, name: string): Promise<UserRecord> {
  const user = await services.auth.userByName(name);
  if (user === undefined) {
    throw new NotFoundError('AUTH_USER_UNKNOWN', { message: `No zerotrail user is named "${name}".` });
  }
  return user;
}

/** Audits a role change or removal, a refusal included, and turns a refusal into the error the caller sees. */
async function auditChange(
  services: ServerServices,
  caller: Principal,
  ip: string,
  action: AuditAction,
  user: UserRecord,
  change: UserChange,
  details: Readonly<Record<string, unknown>>,
): Promise<void> {
  // The user went between the lookup and the write: another admin removed them first.
  if (change === 'missing') {
    throw new NotFoundError('AUTH_USER_UNKNOWN', { message: `No zerotrail user is named "${user.name}".` });
  }
  const refused = change === 'last_admin';
  await services.audit({
    actor: caller.name,
    action,
    target: user.name,
    outcome: refused ? 'failure' : 'success',
    ip,
    details: refused ? { ...details, reason: 'last_admin' } : details,
  });
  if (refused) {
    throw new AuthError('AUTH_LAST_ADMIN', {
      message: `"${user.name}" is the last admin; zerotrail needs at least one. Make another user an admin first.`,
    });
  }
}

export const CREATE_API_KEY_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/apikeys',
  summary: 'Create an API key for a user (default: yourself); the key is in this answer only',
  access: ['admin'],
  status: 201,
  body: z.object({ user: USER_NAME.optional(), label: z.string().trim().max(100).default('') }),
  handler: async ({ body, principal, request, services }) => {
    const caller = signedIn(principal);
    const owner = await services.auth.userByName(body.user ?? caller.name);
    if (owner === undefined) {
      throw new NotFoundError('AUTH_USER_UNKNOWN', { message: `No zerotrail user is named "${body.user ?? ''}".` });
    }
    const { key, record: stored } = await issueApiKey(services.auth, owner, body.label, services.app.clock.now());
    await services.audit({
      actor: caller.name,
      action: 'apikey_created',
      target: owner.name,
      outcome: 'success',
      ip: request.ip,
      details: { keyId: stored.id, label: stored.label, prefix: stored.keyPrefix },
    });
    return {
      apiKey: { id: stored.id, user: owner.name, role: owner.role, label: stored.label, prefix: stored.keyPrefix },
      key,
      notice: 'Copy the key now: it is not shown again.',
    };
  },
});

export const LIST_API_KEYS_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/apikeys',
  summary: 'API keys with their owner, label and prefix (never the key)',
  access: ['admin'],
  handler: async ({ services }) => ({
    apiKeys: (await apiKeysWithOwners(services.auth)).map(({ key, owner }) => ({
      id: key.id,
      user: owner?.name ?? null,
      role: owner?.role ?? null,
      label: key.label,
      prefix: key.keyPrefix,
      createdAt: new Date(key.createdAt).toISOString(),
      lastUsedAt: key.lastUsedAt === null ? null : new Date(key.lastUsedAt).toISOString(),
    })),
  }),
});

export const REVOKE_API_KEY_ROUTE = defineRoute({
  method: 'DELETE',
  url: '/api/apikeys/:id',
  summary: 'Revoke an API key: it stops working at once',
  access: ['admin'],
  params: z.object({ id: wholeNumberText((n) => n.min(1, 'an API key id is a positive number')) }),
  handler: async ({ params, principal, request, services }) => {
    const caller = signedIn(principal);
    const { key: stored, owner } = await revokeApiKey(services.auth, params.id);
    await services.audit({
      actor: caller.name,
      action: 'apikey_revoked',
      target: owner?.name ?? null,
      outcome: 'success',
      ip: request.ip,
      details: { keyId: stored.id, label: stored.label, prefix: stored.keyPrefix },
    });
    return { revoked: stored.id };
  },
});

export const AUDIT_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/audit',
  summary: "zerotrail's own audit trail, newest first",
  access: ['admin'],
  query: z.object({
    limit: wholeNumberText((n) => n.min(1).max(1000)).default(100),
    before: wholeNumberText((n) => n.min(1)).optional(),
  }),
  handler: async ({ query, services }) => {
    const entries = await services.auth.listAudit({
      limit: query.limit,
      ...(query.before === undefined ? {} : { beforeId: query.before }),
    });
    return {
      entries: entries.map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() })),
      nextBefore: entries.length === query.limit ? (entries.at(-1)?.id ?? null) : null,
    };
  },
});
