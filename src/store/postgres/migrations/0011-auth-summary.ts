import type { Migration } from './migrations.js';

// The dimensions and the columns they count, as of this migration (the same as SQLite's migration 0008).
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
// Floors to a multiple of `ms`, also for times before 1970.
const floor = (column: string, ms: number): string => `${column} - ((${column} % ${ms}) + ${ms}) % ${ms}`;

function hourRows(dim: string, column: string | null): string {
  const key = column === null ? "''" : `min(${column})`;
  const group = column === null ? '' : `, lower(${column})`;
  return `INSERT INTO summary_hours (dim, period, source, key, outcome, n)
SELECT '${dim}', ${floor('time', HOUR_MS)}, source, ${key}, lower(outcome), count(*) FROM events
WHERE class_uid = 3002${column === null ? '' : ` AND ${column} IS NOT NULL`} GROUP BY 2, 3${group}, lower(outcome);`;
}

function firstSeenRows(dim: (typeof FIRST_SEEN)[number]): string {
  const column = DIMENSIONS.find(([name]) => name === dim)?.[1] ?? dim;
  return `INSERT INTO summary_first_seen (dim, source, key, first_ms)
SELECT '${dim}', source, min(${column}), min(time) FROM events WHERE class_uid = 3002 AND ${column} IS NOT NULL
GROUP BY source, lower(${column});`;
}

function summaryTable(name: string): string {
  return `CREATE TABLE ${name} (
  dim text COLLATE "C" NOT NULL,
  period bigint NOT NULL,
  source text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  outcome text COLLATE "C" NOT NULL,
  n bigint NOT NULL
);
CREATE UNIQUE INDEX ${name}_row ON ${name} (dim, period, source, lower(key), outcome);`;
}

// Each added authentication once per dimension it has a value for, from the trigger's transition table `added`.
const KEYED = `SELECT dims.dim, added.time, added.source, dims.key, lower(added.outcome) AS outcome FROM added
  CROSS JOIN LATERAL (VALUES ('total', ''), ${DIMENSIONS.map(([dim, column]) => `('${dim}', added.${column})`).join(', ')})
    AS dims (dim, key)
  WHERE added.class_uid = 3002 AND dims.key IS NOT NULL`;

// Rows are upserted in key order, so two appends adding to the same rows wait on each other, never deadlock.
function addRows(table: string, ms: number): string {
  return `INSERT INTO ${table} AS kept (dim, period, source, key, outcome, n)
  SELECT dim, ${floor('time', ms)}, source, min(key), outcome, count(*) FROM (${KEYED}) AS keyed
  GROUP BY dim, 2, source, lower(key), outcome ORDER BY dim, 2, source, lower(key), outcome
  ON CONFLICT (dim, period, source, lower(key), outcome)
  DO UPDATE SET n = kept.n + excluded.n, key = least(kept.key, excluded.key);`;
}

const ADD_FIRST_SEEN = `INSERT INTO summary_first_seen AS kept (dim, source, key, first_ms)
  SELECT dim, source, min(key), min(time) FROM (${KEYED}) AS keyed WHERE dim IN (${FIRST_SEEN.map((dim) => `'${dim}'`).join(', ')})
  GROUP BY dim, source, lower(key) ORDER BY dim, source, lower(key)
  ON CONFLICT (dim, source, lower(key)) DO UPDATE
  SET first_ms = least(kept.first_ms, excluded.first_ms), key = least(kept.key, excluded.key)
  WHERE excluded.first_ms < kept.first_ms OR excluded.key < kept.key;`;

/**
 * Authentication counts per hour and per UTC day, and when each user, application and country was first seen per
 * source: the tables SQLite keeps since its migration 0008, with the same meaning, so the dashboard and the Explore
 * histogram read a few thousand rows instead of every event of a long period. `dim` names what `key` is (`total`,
 * key '', for the counts over time); keys compare without regard to ASCII case, as search does, and hold the least
 * of the spellings counted. Existing events are summarised here, once.
 *
 * A statement trigger on `events` adds every inserted authentication, so the counts commit or roll back with the
 * events whatever path wrote them (an append, an inventory snapshot, an import); retention takes its periods out
 * again. `events_other_class_time` indexes only the events the summary does not count, so a histogram over every
 * event adds those to the summary's counts without reading the authentications again.
 */
export const MIGRATION_0011_AUTH_SUMMARY: Migration = {
  version: 11,
  name: 'auth-summary',
  sql: `
${summaryTable('summary_hours')}
${summaryTable('summary_days')}
CREATE TABLE summary_first_seen (
  dim text COLLATE "C" NOT NULL,
  source text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  first_ms bigint NOT NULL
);
CREATE UNIQUE INDEX summary_first_seen_row ON summary_first_seen (dim, source, lower(key));
CREATE INDEX events_other_class_time ON events (time) INCLUDE (class_uid, source, outcome, app, country, idp)
  WHERE class_uid <> 3002;
${hourRows('total', null)}
${DIMENSIONS.map(([dim, column]) => hourRows(dim, column)).join('\n')}
INSERT INTO summary_days (dim, period, source, key, outcome, n)
SELECT dim, ${floor('period', DAY_MS)}, source, min(key), outcome, sum(n) FROM summary_hours
GROUP BY dim, 2, source, lower(key), outcome;
${FIRST_SEEN.map(firstSeenRows).join('\n')}
CREATE FUNCTION events_auth_summary_add() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $body$
BEGIN
  ${addRows('summary_hours', HOUR_MS)}
  ${addRows('summary_days', DAY_MS)}
  ${ADD_FIRST_SEEN}
  RETURN NULL;
END
$body$;
CREATE TRIGGER events_auth_summary AFTER INSERT ON events REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION events_auth_summary_add();
`,
};
