import type { Migration } from './migrations.js';

/**
 * What each notification target last did, as in the SQLite store: written by the node that delivers for it, read
 * by `zerotrail notify status` and the HTTP API on any node.
 */
export const MIGRATION_0010_NOTIFY_TARGET_STATUS: Migration = {
  version: 10,
  name: 'notify-target-status',
  sql: `
CREATE TABLE notify_target_status (
  target text COLLATE "C" PRIMARY KEY,
  type text NOT NULL,
  state text NOT NULL,
  delivered bigint NOT NULL,
  retries bigint NOT NULL,
  attempt integer NOT NULL,
  last_success_at bigint,
  last_error_code text,
  last_error_message text,
  last_error_at bigint,
  next_attempt_at bigint,
  host text NOT NULL,
  updated_at bigint NOT NULL
);
`,
};
