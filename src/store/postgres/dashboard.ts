import type pg from 'pg';
import { HOUR_MS, summaryParts, type SummaryPart } from '../auth-summary-plan.js';
import {
  DASHBOARD_CLASS_UID,
  dashboardBucketMs,
  type DashboardBucket,
  type DashboardCount,
  type DashboardNewValues,
  type DashboardSpec,
  type DashboardSummary,
} from '../dashboard-summary.js';
import { DIMENSION_COLUMNS, type Dimension } from './auth-summary.js';
import { SqlParams } from './queries.js';

const OUTCOME_COUNTS = `sum(n)::bigint AS total,
  coalesce(sum(n) FILTER (WHERE outcome = 'success'), 0)::bigint AS allowed,
  coalesce(sum(n) FILTER (WHERE outcome = 'failure'), 0)::bigint AS denied`;

interface CountRow {
  readonly key: string;
  readonly total: number;
  readonly allowed: number;
  readonly denied: number;
}

/**
 * The dashboard in one read-only snapshot, from the authentication summary of migration 0011: whole days from
 * day rows, whole hours from hour rows and only the partial hours at either end from the events, so every count
 * is exact while a long period reads a few thousand rows. Periods of a few hours, whose buckets are narrower
 * than an hour, are counted from the events alone. New values come from the first-seen table, which retention
 * does not move, as on SQLite.
 */
export async function postgresDashboard(client: pg.PoolClient, spec: DashboardSpec): Promise<DashboardSummary> {
  const { fromMs, toMs } = spec;
  const limit = Math.max(1, Math.floor(spec.limit));
  const bucketMs = dashboardBucketMs(fromMs, toMs);
  const parts: SummaryPart[] =
    bucketMs % HOUR_MS === 0 ? summaryParts(fromMs, toMs, true) : [{ from: fromMs, to: toMs, table: 'events' }];
  const bySource = (params: SqlParams): string =>
    spec.source === undefined ? '' : ` AND source = ${params.add(spec.source)}`;

  // Every part's rows of one dimension as (key, outcome, n), the events' outcome lower-cased as the summary's is.
  const rowsOf = (dim: Dimension, params: SqlParams): string =>
    parts
      .map((part) => {
        const period = (column: string): string =>
          `${column} >= ${params.add(part.from)} AND ${column} < ${params.add(part.to)}`;
        if (part.table !== 'events') {
          return `SELECT key, outcome, n FROM ${part.table}
            WHERE dim = ${params.add(dim)} AND ${period('period')}${bySource(params)}`;
        }
        const column = DIMENSION_COLUMNS[dim];
        return `SELECT ${column} AS key, lower(outcome) AS outcome, 1::bigint AS n FROM events
          WHERE class_uid = ${params.add(DASHBOARD_CLASS_UID)} AND ${period('time')}${bySource(params)}
          AND ${column} IS NOT NULL`;
      })
      .join(' UNION ALL ');

  const list = async (dim: Dimension, by: 'total' | 'denied', max: number | null): Promise<DashboardCount[]> => {
    const params = new SqlParams();
    const rows = await client.query<CountRow>(
      `SELECT min(key) AS key, ${OUTCOME_COUNTS} FROM (${rowsOf(dim, params)}) AS counted GROUP BY lower(key)
       HAVING sum(n) FILTER (WHERE ${by === 'denied' ? "outcome = 'failure'" : 'true'}) > 0
       ORDER BY ${by} DESC, lower(min(key)), min(key)${max === null ? '' : ` LIMIT ${params.add(max)}`}`,
      params.values,
    );
    return rows.rows.map((row) => ({ key: row.key, total: row.total, allowed: row.allowed, denied: row.denied }));
  };

  const buckets = new Map<number, DashboardBucket>();
  for (let start = Math.floor(fromMs / bucketMs) * bucketMs; start < toMs; start += bucketMs) {
    buckets.set(start, { startMs: start, allowed: 0, denied: 0, other: 0 });
  }
  const seriesParams = new SqlParams();
  const width = `${seriesParams.add(bucketMs)}::bigint`;
  const floor = (column: string): string => `(${column} - ((${column} % ${width}) + ${width}) % ${width})`;
  const seriesParts = parts.map((part) => {
    const period = (column: string): string =>
      `${column} >= ${seriesParams.add(part.from)} AND ${column} < ${seriesParams.add(part.to)}`;
    // Day rows would do for buckets of whole days too; hour rows serve every width of an hour or more.
    return part.table === 'events'
      ? `SELECT ${floor('time')} AS start, lower(outcome) AS outcome, 1::bigint AS n FROM events
          WHERE class_uid = ${seriesParams.add(DASHBOARD_CLASS_UID)} AND ${period('time')}${bySource(seriesParams)}`
      : `SELECT ${floor('period')} AS start, outcome, n FROM summary_hours
          WHERE dim = 'total' AND ${period('period')}${bySource(seriesParams)}`;
  });
  const seriesRows = await client.query<{ start: number; total: number; allowed: number; denied: number }>(
    `SELECT start, ${OUTCOME_COUNTS} FROM (${seriesParts.join(' UNION ALL ')}) AS counted GROUP BY start`,
    seriesParams.values,
  );
  for (const row of seriesRows.rows) {
    if (!buckets.has(row.start)) continue;
    buckets.set(row.start, {
      startMs: row.start,
      allowed: row.allowed,
      denied: row.denied,
      other: row.total - row.allowed - row.denied,
    });
  }

  const newValues = async (dim: 'user' | 'app' | 'country'): Promise<DashboardNewValues> => {
    const params = new SqlParams();
    const rows = await client.query<{ key: string; first: number }>(
      `SELECT min(key) AS key, min(first_ms) AS first FROM summary_first_seen
       WHERE dim = ${params.add(dim)}${bySource(params)} GROUP BY lower(key)
       HAVING min(first_ms) >= ${params.add(fromMs)} AND min(first_ms) < ${params.add(toMs)} ORDER BY 2, 1`,
      params.values,
    );
    return {
      count: rows.rows.length,
      first: rows.rows.slice(0, limit).map((row) => ({ key: row.key, firstSeenMs: row.first })),
    };
  };

  const totals = (await list('total', 'total', 1))[0] ?? { total: 0, allowed: 0, denied: 0 };
  return {
    fromMs,
    toMs,
    bucketMs,
    series: [...buckets.values()],
    totals: {
      total: totals.total,
      allowed: totals.allowed,
      denied: totals.denied,
      other: totals.total - totals.allowed - totals.denied,
    },
    users: await list('user', 'total', limit),
    apps: await list('app', 'total', limit),
    idps: await list('idp', 'total', limit),
    countries: await list('country', 'total', null),
    denied: await list('activity', 'denied', limit),
    newUsers: await newValues('user'),
    newApps: await newValues('app'),
    newCountries: await newValues('country'),
  };
}
