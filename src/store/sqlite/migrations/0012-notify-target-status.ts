import type { Migration } from './migrations.js';

/**
 * What each notification target last did, written by the process that delivers for it, so `zerotrail notify
 * status` and the HTTP API show it from any process: its state, what it delivered, when it last succeeded, its
 * last error and how often it retried (in all, and in a row now). The queue depth and the refused notices are
 * counted from the queue, the target's offset and `notify_failures` when asked.
 */
export const MIGRATION_0012_NOTIFY_TARGET_STATUS: Migration = {
  version: 12,
  name: 'notify-target-status',
  sql: `
CREATE TABLE notify_target_status (
  target TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  state TEXT NOT NULL,
  delivered INTEGER NOT NULL,
  retries INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  last_success_at INTEGER,
  last_error_code TEXT,
  last_error_message TEXT,
  last_error_at INTEGER,
  next_attempt_at INTEGER,
  host TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`,
};
