import type { SigmaService } from './sigma-fields.js';

/** The Sigma `logsource.product` of every rule zerotrail evaluates. */
export const SIGMA_PRODUCT = 'cloudflare';

/**
 * What each `logsource.service` selects: the zerotrail datasets whose events the rule sees. `inventory` is
 * the change events zerotrail derives from inventory snapshots (one per object added, removed or changed).
 * A rule without a service sees every dataset.
 */
export const SIGMA_SERVICE_DATASETS: Readonly<Record<SigmaService, readonly string[]>> = {
  access: ['access_requests'],
  scim: ['scim_updates'],
  audit: ['audit_logs'],
  inventory: ['access_users', 'organization', 'identity_providers', 'groups', 'gateway', 'devices', 'apps', 'policies'],
};

/** What a service is, for messages and documentation. */
export const SIGMA_SERVICE_DESCRIPTIONS: Readonly<Record<SigmaService, string>> = {
  access: 'Access authentication logs (OCSF Authentication 3002)',
  scim: 'SCIM provisioning logs (OCSF User Management 3007, Group Management 3006, Entity Management 3004)',
  audit: 'account audit logs (OCSF API Activity 6003)',
  inventory: 'inventory change events (OCSF Entity Management 3004)',
};
