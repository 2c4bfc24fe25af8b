import type { Migration } from './migrations.js';

/**
 * One token bucket per API token (keyed by the token's fingerprint, never the token), so every process
 * collecting with a token draws on one request budget.
 */
export const MIGRATION_0011_RATE_BUCKETS: Migration = {
  version: 11,
  name: 'rate-buckets',
  sql: `
CREATE TABLE rate_buckets (
  key TEXT PRIMARY KEY,
  tokens REAL NOT NULL,
  updated_at INTEGER NOT NULL
);
`,
};
