import type { Migration } from './migrations.js';

// The dimensions and the columns they count, as of this migration; later changes need a migration of their own.
const DIMENSIONS = [
  ['user', 'user_name'],
  ['app', 'app'],
  ['country', 'country'],
  ['idp', 'idp'],
  ['activity', 'activity'],
] as const;
const FIRST_SEEN = ['user', 'app', 'country'] as const;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
// Authentication events only (OCSF class 3002): the dashboard is about logins.
const TIERS = `(SELECT time, source, outcome, user_name, app, country, idp, activity FROM events WHERE class_uid = 3002
  UNION ALL SELECT time, source, outcome, user_name, app, country, idp, activity FROM events_recent WHERE class_uid = 3002)`;

function hourRows(dim: string, column: string | null): string {
  const key = column ?? "''";
  return `INSERT INTO summary_hours (dim, period, source, key, outcome, n)
SELECT '${dim}', time - ((time % ${HOUR_MS}) + ${HOUR_MS}) % ${HOUR_MS}, source, ${key}, lower(outcome), count(*)
FROM ${TIERS}${column === null ? '' : ` WHERE ${column} IS NOT NULL`} GROUP BY 2, 3, 4, 5;`;
}

function firstSeenRows(dim: string): string {
  const column = DIMENSIONS.find(([name]) => name === dim)?.[1] ?? dim;
  return `INSERT INTO summary_first_seen (dim, source, key, first_ms)
SELECT '${dim}', source, ${column}, min(time) FROM ${TIERS} WHERE ${column} IS NOT NULL GROUP BY 2, 3;`;
}

/**
 * Authentication counts per hour and per day, kept by every append in its own transaction, so the dashboard
 * reads a few thousand summary rows instead of every event of its period. `dim` names what `key` is: `total`
 * (key '') for the counts over time, or a user, application, country, IdP or activity. Day rows repeat the hours
 * summed per UTC day, so a long period reads one row per value and day. `summary_first_seen` holds when each
 * user, application and country was first seen per source; retention does not move it, since a value seen
 * before the retained window is still not new. Existing events are summarised here, once.
 */
export const MIGRATION_0008_HOURLY_SUMMARY: Migration = {
  version: 8,
  name: 'hourly-summary',
  sql: `
CREATE TABLE summary_hours (
  dim TEXT NOT NULL,
  period INTEGER NOT NULL,
  source TEXT NOT NULL,
  key TEXT NOT NULL COLLATE NOCASE,
  outcome TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (dim, period, source, key, outcome)
) WITHOUT ROWID;
CREATE TABLE summary_days (
  dim TEXT NOT NULL,
  period INTEGER NOT NULL,
  source TEXT NOT NULL,
  key TEXT NOT NULL COLLATE NOCASE,
  outcome TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (dim, period, source, key, outcome)
) WITHOUT ROWID;
CREATE TABLE summary_first_seen (
  dim TEXT NOT NULL,
  source TEXT NOT NULL,
  key TEXT NOT NULL COLLATE NOCASE,
  first_ms INTEGER NOT NULL,
  PRIMARY KEY (dim, source, key)
) WITHOUT ROWID;
${hourRows('total', null)}
${DIMENSIONS.map(([dim, column]) => hourRows(dim, column)).join('\n')}
INSERT INTO summary_days (dim, period, source, key, outcome, n)
SELECT dim, period - ((period % ${DAY_MS}) + ${DAY_MS}) % ${DAY_MS}, source, key, outcome, sum(n)
FROM summary_hours GROUP BY 1, 2, 3, 4, 5;
${FIRST_SEEN.map(firstSeenRows).join('\n')}
`,
};
