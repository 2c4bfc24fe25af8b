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
 * it safe to repeat after a delete that stopped half-way. Appends wait for it (their trigger writes the same
 * tables), so no append's counts fall between the delete and the rebuild. Run it in a transaction.
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
