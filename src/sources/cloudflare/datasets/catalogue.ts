/**
 * Cloudflare permission groups, spelled as the dashboard's token editor shows them (API-NOTES §4).
 * The first three are the base a zerotrail token needs; the others unlock optional datasets.
 */
export const CLOUDFLARE_PERMISSIONS = {
  accessAuditLogs: 'Access: Audit Logs Read',
  accessOrganizations: 'Access: Organizations, Identity Providers, and Groups Read',
  zeroTrust: 'Zero Trust Read',
  accessAppsAndPolicies: 'Access: Apps and Policies Read',
  accessScimLogs: 'Access: SCIM Logs Read',
  accountSettings: 'Account Settings Read',
} as const;

export const CLOUDFLARE_DATASET_IDS = [
  'access_requests',
  'access_users',
  'organization',
  'identity_providers',
  'groups',
  'gateway',
  'devices',
  'apps',
  'policies',
  'scim_updates',
  'audit_logs',
] as const;
export type CloudflareDatasetId = (typeof CLOUDFLARE_DATASET_IDS)[number];

export interface CloudflareDatasetInfo {
  /** `log` datasets are pulled by time and cursor; `inventory` datasets are read whole as snapshots. */
  readonly kind: 'log' | 'inventory';
  /** The permission group the token needs for this dataset's endpoints. */
  readonly permission: string;
  /** Required datasets need only the three base permissions; optional ones need an extra permission. */
  readonly required: boolean;
  /** One sentence on what the user loses when the token lacks `permission`. */
  readonly withoutIt: string;
  /**
   * For a `log` dataset, the longest Cloudflare keeps it on any plan (API-NOTES §3, "Zero Trust log retention"):
   * a backfill asked to reach further starts there.
   */
  readonly retentionDays?: number;
}

/** Access logs, SCIM logs included: 24 hours (Free) to 180 days (Enterprise). */
export const ACCESS_LOG_RETENTION_DAYS = 180;
/** Admin (audit) logs: 18 months on every plan, counted as 548 days. */
export const AUDIT_LOG_RETENTION_DAYS = 548;

/** Every dataset the Cloudflare Zero Trust source can collect, with the permission it needs. */
export const CLOUDFLARE_DATASETS = {
  access_requests: {
    kind: 'log',
    permission: CLOUDFLARE_PERMISSIONS.accessAuditLogs,
    required: true,
    withoutIt: 'Without it no Access login events are collected, which leaves nothing to investigate.',
    retentionDays: ACCESS_LOG_RETENTION_DAYS,
  },
  access_users: {
    kind: 'inventory',
    permission: CLOUDFLARE_PERMISSIONS.accessAuditLogs,
    required: true,
    withoutIt: 'Without it there is no user inventory, so logins cannot be tied to seats, devices and last logins.',
  },
  organization: {
    kind: 'inventory',
    permission: CLOUDFLARE_PERMISSIONS.accessOrganizations,
    required: true,
    withoutIt:
      'Without it changes to the Zero Trust organization, such as session lengths and login settings, go unrecorded.',
  },
  identity_providers: {
    kind: 'inventory',
    permission: CLOUDFLARE_PERMISSIONS.accessOrganizations,
    required: true,
    withoutIt:
      'Without it identity provider changes go unrecorded and SCIM logs cannot be read, as they are listed per identity provider.',
  },
  groups: {
    kind: 'inventory',
    permission: CLOUDFLARE_PERMISSIONS.accessOrganizations,
    required: true,
    withoutIt: 'Without it changes to Access groups, which decide who reaches which application, go unrecorded.',
  },
  gateway: {
    kind: 'inventory',
    permission: CLOUDFLARE_PERMISSIONS.zeroTrust,
    required: true,
    withoutIt: 'Without it changes to Gateway settings and rules go unrecorded.',
  },
  devices: {
    kind: 'inventory',
    permission: CLOUDFLARE_PERMISSIONS.zeroTrust,
    required: true,
    withoutIt: 'Without it device enrolments and revocations go unrecorded and logins cannot be tied to a device.',
  },
  apps: {
    kind: 'inventory',
    permission: CLOUDFLARE_PERMISSIONS.accessAppsAndPolicies,
    required: false,
    withoutIt: 'Without it changes to Access applications go unrecorded and events name applications only by id.',
  },
  policies: {
    kind: 'inventory',
    permission: CLOUDFLARE_PERMISSIONS.accessAppsAndPolicies,
    required: false,
    withoutIt: 'Without it changes to reusable Access policies, which grant access to applications, go unrecorded.',
  },
  scim_updates: {
    kind: 'log',
    permission: CLOUDFLARE_PERMISSIONS.accessScimLogs,
    required: false,
    withoutIt:
      'Without it the users and groups your identity provider creates, changes and removes through SCIM are not collected.',
    retentionDays: ACCESS_LOG_RETENTION_DAYS,
  },
  audit_logs: {
    kind: 'log',
    permission: CLOUDFLARE_PERMISSIONS.accountSettings,
    required: false,
    withoutIt:
      'Without it administrator changes to the account, who changed what in the dashboard or API, are not collected.',
    retentionDays: AUDIT_LOG_RETENTION_DAYS,
  },
} as const satisfies Record<CloudflareDatasetId, CloudflareDatasetInfo>;
