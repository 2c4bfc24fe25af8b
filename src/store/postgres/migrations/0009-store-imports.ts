import type { Migration } from './migrations.js';

/**
 * The record of `zerotrail store migrate`, which copies a SQLite installation into this database. An import is
 * named by a fingerprint of the SQLite installation, so a second run knows whether it resumes its own copy or
 * faces another installation's data. Each table's position (the key of the last row copied, as JSON) moves in
 * the same transaction as the rows it covers, so a copy killed at any moment resumes without losing or repeating
 * a row.
 */
export const MIGRATION_0009_STORE_IMPORTS: Migration = {
  version: 9,
  name: 'store-imports',
  sql: `
CREATE TABLE store_imports (
  installation text COLLATE "C" PRIMARY KEY,
  source_path text NOT NULL,
  started_at bigint NOT NULL,
  finished_at bigint
);
CREATE TABLE store_import_progress (
  installation text COLLATE "C" NOT NULL REFERENCES store_imports (installation),
  table_name text COLLATE "C" NOT NULL,
  position text,
  copied bigint NOT NULL,
  done boolean NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (installation, table_name)
);
`,
};
