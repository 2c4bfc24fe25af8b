import { describe, expect, it } from 'vitest';
import { DEFAULT_PERMISSIONS, PERMISSIONS } from '../../../simulator/simulator.js';
import { CLOUDFLARE_DATASET_IDS, CLOUDFLARE_DATASETS } from './catalogue.js';

describe('CLOUDFLARE_DATASETS', () => {
  it('gives each dataset the permission group API-NOTES §4 names for its endpoints', () => {
    const permissions = Object.fromEntries(
      Object.entries(CLOUDFLARE_DATASETS).map(([dataset, info]) => [dataset, info.permission]),
    );
    // Spelled as the simulator's routes demand them, which follow the same notes.
    expect(permissions).toEqual({
      access_requests: PERMISSIONS.accessAuditLogs,
      access_users: PERMISSIONS.accessAuditLogs,
      organization: PERMISSIONS.accessOrganizations,
      identity_providers: PERMISSIONS.accessOrganizations,
      groups: PERMISSIONS.accessOrganizations,
      gateway: PERMISSIONS.zeroTrust,
      devices: PERMISSIONS.zeroTrust,
      apps: PERMISSIONS.accessAppsAndPolicies,
      policies: PERMISSIONS.accessAppsAndPolicies,
      scim_updates: PERMISSIONS.accessScimLogs,
      audit_logs: PERMISSIONS.accountSettings,
    });
  });

  it('requires exactly the datasets the three base permissions cover', () => {
    for (const [dataset, info] of Object.entries(CLOUDFLARE_DATASETS)) {
      expect(info.required, dataset).toBe((DEFAULT_PERMISSIONS as readonly string[]).includes(info.permission));
    }
  });

  it('says in one sentence what the user loses without each permission', () => {
    expect(Object.keys(CLOUDFLARE_DATASETS)).toEqual([...CLOUDFLARE_DATASET_IDS]);
    for (const [dataset, info] of Object.entries(CLOUDFLARE_DATASETS)) {
      expect(info.withoutIt, dataset).toMatch(/^Without it [^.]+\.$/);
    }
  });

  it('splits log and inventory datasets', () => {
    const logs = Object.entries(CLOUDFLARE_DATASETS)
      .filter(([, info]) => info.kind === 'log')
      .map(([dataset]) => dataset);
    expect(logs).toEqual(['access_requests', 'scim_updates', 'audit_logs']);
  });
});
