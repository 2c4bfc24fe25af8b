import { MIGRATION_0001_INITIAL } from './0001-initial.js';
import { MIGRATION_0002_INVENTORY } from './0002-inventory.js';
import { MIGRATION_0003_AUTH } from './0003-auth.js';
import { MIGRATION_0004_LOGIN_LINKS } from './0004-login-links.js';
import { MIGRATION_0005_DETECTIONS } from './0005-detections.js';
import { MIGRATION_0006_NOTIFICATIONS } from './0006-notifications.js';
import { MIGRATION_0007_LEASES } from './0007-leases.js';
import { MIGRATION_0008_RATE_BUCKETS } from './0008-rate-buckets.js';
import { MIGRATION_0009_STORE_IMPORTS } from './0009-store-imports.js';
import { MIGRATION_0010_NOTIFY_TARGET_STATUS } from './0010-notify-target-status.js';
import { MIGRATION_0011_AUTH_SUMMARY } from './0011-auth-summary.js';
import { MIGRATION_0012_SUMMARY_FROM_BATCH } from './0012-summary-from-batch.js';

/**
 * One forward-only schema step of the PostgreSQL store. Versions are dense, start at 1 and never change once
 * released; they are numbered on their own, apart from the SQLite store's.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  MIGRATION_0001_INITIAL,
  MIGRATION_0002_INVENTORY,
  MIGRATION_0003_AUTH,
  MIGRATION_0004_LOGIN_LINKS,
  MIGRATION_0005_DETECTIONS,
  MIGRATION_0006_NOTIFICATIONS,
  MIGRATION_0007_LEASES,
  MIGRATION_0008_RATE_BUCKETS,
  MIGRATION_0009_STORE_IMPORTS,
  MIGRATION_0010_NOTIFY_TARGET_STATUS,
  MIGRATION_0011_AUTH_SUMMARY,
  MIGRATION_0012_SUMMARY_FROM_BATCH,
];
