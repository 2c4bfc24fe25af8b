import type pg from 'pg';
import { DAY_MS, HOUR_MS } from '../auth-summary-plan.js';
import { DASHBOARD_CLASS_UID } from '../dashboard-summary.js';

/** What each summary dimension counts (migration 0011); `total` has the one key ''. */
export const DIMENSION_COLUMNS = {
  total: `'' COLLATE "C"`,
  user: 'user_name',
  app: 'app',
  idp: 'idp',
  country: 'country',
  activity: 'activity',
} as const;
export type Dimension = keyof typeof DIMENSION_COLUMNS;
const DIMENSIONS = Object.keys(DIMENSION_COLUMNS) as Dimension[];

const GRAINS = [
  { table: 'summary_hours', ms: HOUR_MS },
  { table: 'summary_days', ms: DAY_MS },
] as const;

// Each stored authentication of [$2, $3) once per dimension it has a value for, summed into the period $1.
const REBUILD_ROWS = `SELECT dims.dim, $1::bigint, source, min(dims.key), lower(outcome), count(*) FROM events
  CROSS JOIN LATERAL (VALUES ${DIMENSIONS.map((dim) => `('${dim}', ${DIMENSION_COLUMNS[dim]})`).join(', ')})
    AS dims (dim, key)
  WHERE class_uid = ${DASHBOARD_CLASS_UID} AND time >= $2 AND time < $3 AND dims.key IS NOT NULL
  GROUP BY dims.dim, source, lower(dims.key), lower(outcome)`;

/** One stored authentication (OCSF class 3002) as the summary counts it: its values as written to `events`. */
export interface SummaryEvent {
  readonly time: number;
  readonly source: string;
  readonly outcome: string;
  readonly user: string | null;
  readonly app: string | null;
  readonly country: string | null;
  readonly idp: string | null;
  readonly activity: string;
}

// The dimensions an event has its own key in, and those whose first sighting is kept (as migration 0011 has them).
const KEYED_DIMENSIONS = ['user', 'app', 'country', 'idp', 'activity'] as const satisfies readonly Dimension[];
const FIRST_SEEN: ReadonlySet<Dimension> = new Set(['user', 'app', 'country']);
const floorSql = (column: string, ms: number): string => `${column} - ((${column} % ${ms}) + ${ms}) % ${ms}`;

// The batch's counts per hour ($1-$6) and earliest times ($7-$10), one row per exact spelling. PostgreSQL folds the
// keys (lower() under "C" folds ASCII only, as the unique indexes do) and keeps the least spelling, so the rows are
// the ones migration 0011's trigger wrote. Rows are upserted in key order, so two appends adding to the same rows
// wait on each other, never deadlock.
const ADD_SQL = `WITH counted AS MATERIALIZED (
    SELECT dim, period, source COLLATE "C" AS source, key COLLATE "C" AS key, lower(outcome COLLATE "C") AS outcome, n
    FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[])
      AS counted (dim, period, source, key, outcome, n)
  ),
  hours AS (
    INSERT INTO summary_hours AS kept (dim, period, source, key, outcome, n)
    SELECT dim, period, source, min(key), outcome, sum(n)::bigint FROM counted
    GROUP BY dim, period, source, lower(key), outcome ORDER BY dim, period, source, lower(key), outcome
    ON CONFLICT (dim, period, source, lower(key), outcome)
    DO UPDATE SET n = kept.n + excluded.n, key = least(kept.key, excluded.key)
  ),
  days AS (
    INSERT INTO summary_days AS kept (dim, period, source, key, outcome, n)
    SELECT dim, ${floorSql('period', DAY_MS)}, source, min(key), outcome, sum(n)::bigint FROM counted
    GROUP BY dim, 2, source, lower(key), outcome ORDER BY dim, 2, source, lower(key), outcome
    ON CONFLICT (dim, period, source, lower(key), outcome)
    DO UPDATE SET n = kept.n + excluded.n, key = least(kept.key, excluded.key)
  )
  INSERT INTO summary_first_seen AS kept (dim, source, key, first_ms)
  SELECT dim, source, min(key), min(first_ms) FROM (
    SELECT dim, source COLLATE "C" AS source, key COLLATE "C" AS key, first_ms
    FROM unnest($7::text[], $8::text[], $9::text[], $10::bigint[]) AS seen (dim, source, key, first_ms)
  ) AS seen
  GROUP BY dim, source, lower(key) ORDER BY dim, source, lower(key)
  ON CONFLICT (dim, source, lower(key)) DO UPDATE
  SET first_ms = least(kept.first_ms, excluded.first_ms), key = least(kept.key, excluded.key)
  WHERE excluded.first_ms < kept.first_ms OR excluded.key < kept.key`;

/**
 * Adds authentications a transaction just stored to the summary, in that transaction, so the counts commit or roll
 * back with the events. Every path that writes events calls it with exactly the events it inserted (duplicates
 * skipped). The batch is summed here first, so one statement carries a row per distinct hour, source, key and
 * outcome rather than per event.
 */
export async function addToSummary(client: pg.PoolClient, events: readonly SummaryEvent[]): Promise<void> {
  if (events.length === 0) return;
  const counts = new Map<
    string,
    { dim: Dimension; period: number; source: string; key: string; outcome: string; n: number }
  >();
  const firstSeen = new Map<string, { dim: Dimension; source: string; key: string; firstMs: number }>();
  // Stored text holds no NUL (see wellFormed), so it separates the parts of a map key.
  const count = (dim: Dimension, period: number, source: string, key: string, outcome: string): void => {
    const id = `${dim}\u0000${period}\u0000${source}\u0000${key}\u0000${outcome}`;
    const entry = counts.get(id);
    if (entry === undefined) counts.set(id, { dim, period, source, key, outcome, n: 1 });
    else entry.n += 1;
  };
  for (const event of events) {
    const hour = event.time - (((event.time % HOUR_MS) + HOUR_MS) % HOUR_MS);
    count('total', hour, event.source, '', event.outcome);
    for (const dim of KEYED_DIMENSIONS) {
      const key = event[dim];
      if (key === null) continue;
      count(dim, hour, event.source, key, event.outcome);
      if (!FIRST_SEEN.has(dim)) continue;
      const id = `${dim}\u0000${event.source}\u0000${key}`;
      const seen = firstSeen.get(id);
      if (seen === undefined) firstSeen.set(id, { dim, source: event.source, key, firstMs: event.time });
      else if (event.time < seen.firstMs) seen.firstMs = event.time;
    }
  }
  const rows = [...counts.values()];
  const seen = [...firstSeen.values()];
  await client.query(ADD_SQL, [
    rows.map((row) => row.dim),
    rows.map((row) => row.period),
    rows.map((row) => row.source),
    rows.map((row) => row.key),
    rows.map((row) => row.outcome),
    rows.map((row) => row.n),
    seen.map((row) => row.dim),
    seen.map((row) => row.source),
    seen.map((row) => row.key),
    seen.map((row) => row.firstMs),
  ]);
}

/**
 * Takes the summary rows of periods before `endMs` out, in the transaction that dropped the month partitions
 * holding their events (`endMs` is the end of the last of them, a UTC day).
 */
export async function dropSummaryBefore(client: pg.PoolClient, endMs: number): Promise<void> {
  for (const { table } of GRAINS) {
    await client.query(`DELETE FROM ${table} WHERE dim = ANY($1::text[]) AND period < $2`, [DIMENSIONS, endMs]);
  }
}

/**
 * After retention deleted the events before `beforeMs`: drops the rows of hours and days wholly before it and
 * rebuilds the hour and the day that contain it from the events left. Rebuilding rather than subtracting makes
 * it safe to repeat after a delete that stopped half-way. Appends wait for it (addToSummary writes the same tables
 * before they commit), so no append's counts fall between the delete and the rebuild. Run it in a transaction.
 */
export async function correctSummaryAfterDelete(client: pg.PoolClient, beforeMs: number): Promise<void> {
  await client.query('LOCK TABLE summary_hours, summary_days IN EXCLUSIVE MODE');
  for (const { table, ms } of GRAINS) {
    const period = Math.floor(beforeMs / ms) * ms;
    await client.query(`DELETE FROM ${table} WHERE dim = ANY($1::text[]) AND period <= $2`, [DIMENSIONS, period]);
    await client.query(`INSERT INTO ${table} (dim, period, source, key, outcome, n) ${REBUILD_ROWS}`, [
      period,
      period,
      period + ms,
    ]);
  }
}
