import type { Migration } from './migrations.js';

/**
 * The current Zero Trust inventory of each source, replaced per (source, dataset) in the transaction that
 * appends the change events computed against it. Names sort and match through lower(), like SQLite's NOCASE.
 */
export const MIGRATION_0002_INVENTORY: Migration = {
  version: 2,
  name: 'inventory',
  sql: `
CREATE TABLE inventory_snapshots (
  source text COLLATE "C" NOT NULL,
  dataset text COLLATE "C" NOT NULL,
  taken_at bigint NOT NULL,
  entity_count integer NOT NULL,
  PRIMARY KEY (source, dataset)
);

CREATE TABLE inventory_entities (
  source text COLLATE "C" NOT NULL,
  dataset text COLLATE "C" NOT NULL,
  kind text COLLATE "C" NOT NULL,
  entity_id text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  attributes text NOT NULL,
  PRIMARY KEY (source, dataset, kind, entity_id)
);
CREATE INDEX inventory_entities_kind ON inventory_entities (kind, source, lower(name));
`,
};
