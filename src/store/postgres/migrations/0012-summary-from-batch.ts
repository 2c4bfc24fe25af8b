import type { Migration } from './migrations.js';

/**
 * The authentication summary of migration 0011 is no longer kept by a statement trigger on `events`: every path
 * that stores events (an append, an inventory snapshot, a `store migrate` chunk) adds the authentications it
 * stored itself, summed in memory, in the same transaction (auth-summary.ts, addToSummary). The trigger made the
 * server keep a transition table holding every inserted row, JSON bodies included, and group it three times per
 * statement; the tables and their meaning stay as they are.
 */
export const MIGRATION_0012_SUMMARY_FROM_BATCH: Migration = {
  version: 12,
  name: 'summary-from-batch',
  sql: `
DROP TRIGGER events_auth_summary ON events;
DROP FUNCTION events_auth_summary_add();
`,
};
