import type { Migration } from './migrations.js';

/**
 * Leases: which process collects which dataset. Two processes on one data directory would otherwise both pull
 * the same dataset. A lease row is never deleted, only released, so its epoch only grows: an append carrying
 * an older epoch is refused, even after the dataset was released and claimed again.
 */
export const MIGRATION_0010_LEASES: Migration = {
  version: 10,
  name: 'leases',
  sql: `
CREATE TABLE collector_nodes (
  node_id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL
);
CREATE TABLE leases (
  id TEXT PRIMARY KEY,
  node_id TEXT,
  epoch INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX leases_node ON leases (node_id);
`,
};
