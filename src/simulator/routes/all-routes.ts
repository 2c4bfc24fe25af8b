import { accessApps } from './access-apps.js';
import { accessGroups } from './access-groups.js';
import { accessIdentityProviders } from './access-identity-providers.js';
import { accessOrganizations } from './access-organizations.js';
import { accessPolicies } from './access-policies.js';
import { accessRequests } from './access-requests.js';
import { accessScimUpdates } from './access-scim-updates.js';
import { accessUserActiveSessions } from './access-user-active-sessions.js';
import { accessUserFailedLogins } from './access-user-failed-logins.js';
import { accessUserLastSeenIdentity } from './access-user-last-seen-identity.js';
import { accessUsers } from './access-users.js';
import { accountTokenVerify } from './account-token-verify.js';
import { auditLogs } from './audit-logs.js';
import { auditLogsV2 } from './audit-logs-v2.js';
import { devices } from './devices.js';
import { gatewayAccount } from './gateway-account.js';
import { gatewayConfiguration } from './gateway-configuration.js';
import { gatewayRules } from './gateway-rules.js';
import { physicalDevices } from './physical-devices.js';
import type { Route } from './route.js';
import { userTokenDetails } from './user-token-details.js';
import { userTokenVerify } from './user-token-verify.js';

/**
 * Every simulated endpoint; a new endpoint is one file in this folder plus one line here. The first pattern that
 * matches wins, so `/user/tokens/verify` comes before `/user/tokens/{token_id}`.
 */
export const allRoutes: readonly Route[] = [
  userTokenVerify,
  userTokenDetails,
  accountTokenVerify,
  accessRequests,
  accessScimUpdates,
  auditLogs,
  auditLogsV2,
  accessUsers,
  accessUserFailedLogins,
  accessUserActiveSessions,
  accessUserLastSeenIdentity,
  accessOrganizations,
  accessIdentityProviders,
  accessGroups,
  accessApps,
  accessPolicies,
  gatewayAccount,
  gatewayConfiguration,
  gatewayRules,
  devices,
  physicalDevices,
];

/** Route names, for `FaultTrigger.routes`. */
export const SIMULATOR_ROUTE_NAMES: readonly string[] = allRoutes.map((route) => route.name);
