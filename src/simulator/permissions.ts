import { hex } from './ids.js';

/**
 * Permission groups the simulated endpoints accept (API-NOTES.md §4). A route names the Read group; a token holding
 * the group's Write or Edit variant may call it too, as Cloudflare's "Accepted Permissions" lists show.
 */
export const PERMISSIONS = {
  accessAuditLogs: 'Access: Audit Logs Read',
  zeroTrust: 'Zero Trust Read',
  accessOrganizations: 'Access: Organizations, Identity Providers, and Groups Read',
  accessAppsAndPolicies: 'Access: Apps and Policies Read',
  accessScimLogs: 'Access: SCIM Logs Read',
  accountSettings: 'Account Settings Read',
  apiTokens: 'API Tokens Read',
} as const;

const READ = ' Read';
// User-level groups apply to the token owner's user, not to an account (the token's policies name a user resource).
const USER_SCOPED = ['API Tokens ', 'User Details ', 'Memberships '] as const;

/** Whether a token holding `held` may call an endpoint that accepts `required` (a "… Read" group). */
export function grants(held: readonly string[], required: string): boolean {
  if (held.includes(required)) return true;
  if (!required.endsWith(READ)) return false;
  const stem = required.slice(0, -READ.length);
  return held.includes(`${stem} Write`) || held.includes(`${stem} Edit`);
}

/** Whether the permission group applies to a user rather than to an account. */
export function isUserScoped(permission: string): boolean {
  return USER_SCOPED.some((prefix) => permission.startsWith(prefix));
}

/** A stable 32-hex id for a permission group name (the simulator's own ids; Cloudflare's are not published here). */
export function permissionGroupId(name: string): string {
  let key = 0;
  for (let i = 0; i < name.length; i++) key = (Math.imul(key, 31) + name.charCodeAt(i)) >>> 0;
  return hex(0x9e41, key, 1, 32);
}
