import type { Migration } from './migrations.js';

/**
 * Heads stored once. A body with `head_id` holds its OCSF JSON without the text it begins with, which is the
 * fragment's: for an Access login, its class, activity and outcome members and the source's part of `metadata`,
 * about 600 of its 1,300 characters. bench/ingest's bodies then fit four to a 4 KiB page instead of two. A body
 * without one (every body written before this migration among them) begins with its own text, so existing rows
 * need no change.
 */
export const MIGRATION_0014_SHARED_HEADS: Migration = {
  version: 14,
  name: 'shared-heads',
  sql: `
ALTER TABLE event_bodies ADD COLUMN head_id INTEGER REFERENCES event_fragments (id);
`,
};
