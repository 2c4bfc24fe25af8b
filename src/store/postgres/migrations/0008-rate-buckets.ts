import type { Migration } from './migrations.js';

/**
 * One token bucket per API token (keyed by the token's fingerprint, never the token), so every node collecting
 * with a token draws on one request budget, as Cloudflare counts it.
 */
export const MIGRATION_0008_RATE_BUCKETS: Migration = {
  version: 8,
  name: 'rate-buckets',
  sql: `
CREATE TABLE rate_buckets (
  key text COLLATE "C" PRIMARY KEY,
  tokens double precision NOT NULL,
  updated_at bigint NOT NULL
);
`,
};
