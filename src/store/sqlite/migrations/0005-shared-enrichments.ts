import type { Migration } from './migrations.js';

/**
 * Enrichment texts stored once. A body with `enrichments_id` holds its OCSF JSON without the trailing
 * `enrichments` member, whose text is the fragment's; a body without one (every body written before this
 * migration among them) holds the whole JSON as before, so existing rows need no change.
 */
export const MIGRATION_0005_SHARED_ENRICHMENTS: Migration = {
  version: 5,
  name: 'shared-enrichments',
  sql: `
CREATE TABLE event_fragments (
  id INTEGER PRIMARY KEY,
  text TEXT NOT NULL UNIQUE
);
ALTER TABLE event_bodies ADD COLUMN enrichments_id INTEGER REFERENCES event_fragments (id);
`,
};
