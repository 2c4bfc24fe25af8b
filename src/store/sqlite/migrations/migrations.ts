import { MIGRATION_0001_INITIAL } from './0001-initial.js';
import { MIGRATION_0002_RECENT_EVENTS } from './0002-recent-events.js';
import { MIGRATION_0003_INVENTORY } from './0003-inventory.js';
import { MIGRATION_0004_AUTH } from './0004-auth.js';
import { MIGRATION_0005_SHARED_ENRICHMENTS } from './0005-shared-enrichments.js';
import { MIGRATION_0006_DETECTIONS } from './0006-detections.js';
import { MIGRATION_0007_LOGIN_LINKS } from './0007-login-links.js';
import { MIGRATION_0008_HOURLY_SUMMARY } from './0008-hourly-summary.js';
import { MIGRATION_0009_NOTIFICATIONS } from './0009-notifications.js';
import { MIGRATION_0010_LEASES } from './0010-leases.js';
import { MIGRATION_0011_RATE_BUCKETS } from './0011-rate-buckets.js';
import { MIGRATION_0012_NOTIFY_TARGET_STATUS } from './0012-notify-target-status.js';
import { MIGRATION_0013_OTHER_EVENTS_TIME } from './0013-other-events-time.js';
import { MIGRATION_0014_SHARED_HEADS } from './0014-shared-heads.js';
import { MIGRATION_0015_FRAGMENT_RETENTION } from './0015-fragment-retention.js';
import { MIGRATION_0016_AUTH_IDS_NEVER_REUSED } from './0016-auth-ids-never-reused.js';

/** One forward-only schema step. Versions are dense, start at 1 and never change once released. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  MIGRATION_0001_INITIAL,
  MIGRATION_0002_RECENT_EVENTS,
  MIGRATION_0003_INVENTORY,
  MIGRATION_0004_AUTH,
  MIGRATION_0005_SHARED_ENRICHMENTS,
  MIGRATION_0006_DETECTIONS,
  MIGRATION_0007_LOGIN_LINKS,
  MIGRATION_0008_HOURLY_SUMMARY,
  MIGRATION_0009_NOTIFICATIONS,
  MIGRATION_0010_LEASES,
  MIGRATION_0011_RATE_BUCKETS,
  MIGRATION_0012_NOTIFY_TARGET_STATUS,
  MIGRATION_0013_OTHER_EVENTS_TIME,
  MIGRATION_0014_SHARED_HEADS,
  MIGRATION_0015_FRAGMENT_RETENTION,
  MIGRATION_0016_AUTH_IDS_NEVER_REUSED,
];
