import type { SimulatedResponse } from '../envelope.js';
import type { EventRenderer, RenderMode } from '../event-renderer.js';
import type { Timeline } from '../timeline.js';
import type { Visibility } from '../access-log-query.js';
import type { AuditLog } from '../audit-log.js';
import type { Inventory } from '../inventory.js';
import type { ScimLog } from '../scim-log.js';

/** A token as the simulator resolved it for this request. */
export interface ResolvedToken {
  readonly id: string;
  readonly name: string;
  /** RFC 3339, whole seconds. */
  readonly issuedOn: string;
  readonly status: 'active' | 'disabled' | 'expired';
  readonly permissions: readonly string[];
  readonly accountIds: readonly string[];
  readonly expiresOn?: string;
}

/** The simulated account's data, as routes read it for one request. */
export interface SimulatorData {
  readonly seed: number;
  readonly accountId: string;
  readonly maxPageSize: number;
  readonly timeline: Timeline;
  readonly renderer: EventRenderer;
  readonly mode: RenderMode;
  readonly visibility: Visibility;
  /** The clock at this request; no log endpoint serves a record from after it. */
  readonly nowMs: number;
  /** The account's inventory at this request (scheduled changes and test updates applied). */
  readonly inventory: Inventory;
  readonly accountName: string;
  readonly scimLog: ScimLog;
  readonly auditLog: AuditLog;
  /** Every token the simulator accepts, as the token endpoints describe them. */
  readonly tokens: () => readonly ResolvedToken[];
}

export interface RouteContext {
  readonly token: ResolvedToken;
  /** The `{account_id}` path segment, for account-scoped routes. */
  readonly accountId: string | undefined;
  /** The pattern's capture groups (for account-scoped routes the first is the account id). */
  readonly params: readonly (string | undefined)[];
  readonly query: URLSearchParams;
  readonly data: SimulatorData;
}

/**
 * One simulated endpoint. The server does routing, authentication, account checks, rate limiting and faults;
 * a route only checks its parameters and builds its result.
 */
export interface Route {
  readonly name: string;
  /** Matches the path after the prefix; for account-scoped routes the first group is the account id. */
  readonly pattern: RegExp;
  readonly accountScoped: boolean;
  /** Permission group the token needs ("Accepted Permissions" on the API reference page); none for verify. */
  readonly permission?: string;
  /** Verify endpoints answer for disabled and expired tokens too: reporting that status is their job. */
  readonly answersInactiveTokens?: boolean;
  handle(ctx: RouteContext): SimulatedResponse;
}
