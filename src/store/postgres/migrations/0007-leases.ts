import type { Migration } from './migrations.js';

/**
 * Leases: each dataset is collected by one node at a time, and nodes announce themselves with a heartbeat so
 * that each can take its share of the work. Times are the database server's clock, so nodes whose clocks
 * disagree still agree on when a lease expired. A lease row is never deleted, only released, so its epoch
 * only grows: an append carrying an older epoch is refused, even after the dataset was claimed again.
 */
export const MIGRATION_0007_LEASES: Migration = {
  version: 7,
  name: 'leases',
  sql: `
CREATE TABLE collector_nodes (
  node_id text COLLATE "C" PRIMARY KEY,
  expires_at bigint NOT NULL,
  started_at bigint NOT NULL
);
CREATE TABLE leases (
  id text COLLATE "C" PRIMARY KEY,
  node_id text COLLATE "C",
  epoch bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX leases_node ON leases (node_id);
`,
};
