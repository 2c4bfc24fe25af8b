import { queryAccessLogs } from '../access-log-query.js';
import { failure, unroutableAccount } from '../envelope.js';
import type { SimulatedResponse } from '../envelope.js';
import { PERMISSIONS } from '../permissions.js';
import type { Route, RouteContext, SimulatorData } from './route.js';

type Json = Record<string, unknown>;

/** The Access user a `/access/users/{user_id}/…` request names, as the inventory holds them at that request. */
export interface AccessUserSubject {
  readonly id: string;
  readonly email: string;
  readonly user: Json;
}

// One Access log event of the subject, with its time parsed (created_at may carry an offset and microseconds).
export interface UserLogEvent {
  readonly timeMs: number;
  readonly record: Json;
}

interface AccessUserRouteSpec {
  readonly name: string;
  /** Path segment after `/access/users/{user_id}/`. */
  readonly suffix: string;
  readonly answer: (subject: AccessUserSubject, ctx: RouteContext) => SimulatedResponse;
}

/**
 * A GET route under `/accounts/{account_id}/access/users/{user_id}/`, shared by the three per-user detail endpoints
 * (spec-2024 `zero-trust-users-get-*`). An id the account's inventory does not hold at this request, or any id
 * in another account, answers 404 with the 7003 envelope Cloudflare uses for an identifier it cannot route.
 */
export function accessUserRoute(spec: AccessUserRouteSpec): Route {
  return {
    name: spec.name,
    pattern: new RegExp(`^/accounts/([^/]+)/access/users/([^/]+)/${spec.suffix}$`),
    accountScoped: true,
    // API-NOTES.md §2.5 and §4: the per-user sub-endpoints sit under the audit log permission, like the user list.
    permission: PERMISSIONS.accessAuditLogs,
    handle: (ctx) => {
      const rawId = ctx.params[1] ?? '';
      const notFound = failure(
        404,
        unroutableAccount(`/accounts/${ctx.accountId ?? ''}/access/users/${rawId}/${spec.suffix}`),
      );
      if (ctx.accountId !== ctx.data.accountId) return notFound;
      const subject = findUser(ctx.data, rawId);
      return subject === undefined ? notFound : spec.answer(subject, ctx);
    },
  };
}

function findUser(data: SimulatorData, rawId: string): AccessUserSubject | undefined {
  let id: string;
  try {
    id = decodeURIComponent(rawId).toLowerCase();
  } catch {
    // A malformed escape cannot name any user; the caller answers 404 as for any unknown id.
    return undefined;
  }
  const user = data.inventory.users.find((u) => String(u['id']).toLowerCase() === id);
  if (user === undefined) return undefined;
  return { id: String(user['id']), email: String(user['email']), user };
}

/**
 * The subject's Access log events with created_at in [sinceMs, untilMs], exactly as the access log endpoint
 * serves them at this request (late arrivals and hostile values included), at most `size`, in `direction`.
 */
export function userLogEvents(
  data: SimulatorData,
  email: string,
  window: {
    readonly sinceMs: number;
    readonly untilMs: number;
    readonly direction: 'asc' | 'desc';
    readonly size: number;
  },
): UserLogEvent[] {
  const text = queryAccessLogs(data.seed, data.timeline, data.renderer, data.mode, data.visibility, {
    sinceMs: window.sinceMs,
    untilMs: window.untilMs,
    direction: window.direction,
    offset: 0,
    size: window.size,
    email: { value: email, op: 'eq' },
  });
  const records = JSON.parse(text) as Json[];
  return records.map((record) => ({ timeMs: Date.parse(String(record['created_at'])), record }));
}

/** The inventory's application whose id is the event's `app_uid`, if any. */
export function appOf(data: SimulatorData, record: Json): Json | undefined {
  const uid = record['app_uid'];
  return data.inventory.apps.find((app) => app['id'] === uid);
}
