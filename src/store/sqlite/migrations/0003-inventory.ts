import type { Migration } from './migrations.js';

/**
 * The current Zero Trust inventory of each source. A snapshot replaces all rows of its (source, dataset) in
 * the same transaction that appends the change events computed against the previous rows, so the stored
 * state and the change history never disagree. Names are NOCASE because analysts look users up by email.
 */
export const MIGRATION_0003_INVENTORY: Migration = {
  version: 3,
  name: 'inventory',
  sql: `
CREATE TABLE inventory_snapshots (
  source TEXT NOT NULL,
  dataset TEXT NOT NULL,
  taken_at INTEGER NOT NULL,
  entity_count INTEGER NOT NULL,
  PRIMARY KEY (source, dataset)
);

CREATE TABLE inventory_entities (
  source TEXT NOT NULL,
  dataset TEXT NOT NULL,
  kind TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  name TEXT NOT NULL COLLATE NOCASE,
  attributes TEXT NOT NULL,
  PRIMARY KEY (source, dataset, kind, entity_id)
);
CREATE INDEX inventory_entities_kind ON inventory_entities (kind, source, name);
`,
};
