import type pg from 'pg';
import {
  DASHBOARD_CLASS_UID,
  dashboardBucketMs,
  type DashboardBucket,
  type DashboardCount,
  type DashboardNewValues,
  type DashboardSpec,
  type DashboardSummary,
} from '../dashboard-summary.js';
import { SqlParams } from './queries.js';

// The columns a list counts by; values compare without regard to (ASCII) case, as everywhere in search.
const LIST_COLUMNS = {
  user: 'user_name',
  app: 'app',
  idp: 'idp',
  country: 'country',
  activity: 'activity',
} as const;
type ListDimension = keyof typeof LIST_COLUMNS;

const OUTCOME_COUNTS = `count(*)::bigint AS total,
  count(*) FILTER (WHERE lower(outcome) = 'success')::bigint AS allowed,
  count(*) FILTER (WHERE lower(outcome) = 'failure')::bigint AS denied`;

interface CountRow {
  readonly key: string;
  readonly total: number;
  readonly allowed: number;
  readonly denied: number;
}

/**
 * The dashboard computed from the partitioned events table in one read-only snapshot: the period's bounds
 * prune the scan to the months it touches, so no summary table has to be kept in step with appends and
 * retention. First-seen values look at every stored authentication before the period as well.
 */
export async function postgresDashboard(client: pg.PoolClient, spec: DashboardSpec): Promise<DashboardSummary> {
  const { fromMs, toMs } = spec;
  const limit = Math.max(1, Math.floor(spec.limit));
  const bucketMs = dashboardBucketMs(fromMs, toMs);
  const period = (params: SqlParams): string =>
    `class_uid = ${params.add(DASHBOARD_CLASS_UID)} AND time >= ${params.add(fromMs)} AND time < ${params.add(toMs)}` +
    (spec.source === undefined ? '' : ` AND source = ${params.add(spec.source)}`);

  const list = async (dim: ListDimension, by: 'total' | 'denied', max: number | null): Promise<DashboardCount[]> => {
    const column = LIST_COLUMNS[dim];
    const params = new SqlParams();
    const where = `${period(params)} AND ${column} IS NOT NULL`;
    const rows = await client.query<CountRow>(
      `SELECT min(${column}) AS key, ${OUTCOME_COUNTS} FROM events WHERE ${where} GROUP BY lower(${column})
       HAVING count(*) FILTER (WHERE ${by === 'denied' ? "lower(outcome) = 'failure'" : 'true'}) > 0
       ORDER BY ${by} DESC, lower(min(${column})), min(${column})${max === null ? '' : ` LIMIT ${params.add(max)}`}`,
      params.values,
    );
    return rows.rows.map((row) => ({ key: row.key, total: row.total, allowed: row.allowed, denied: row.denied }));
  };

  const totalsParams = new SqlParams();
  const totals = (
    await client.query<Omit<CountRow, 'key'>>(
      `SELECT ${OUTCOME_COUNTS} FROM events WHERE ${period(totalsParams)}`,
      totalsParams.values,
    )
  ).rows[0] ?? { total: 0, allowed: 0, denied: 0 };

  const seriesParams = new SqlParams();
  const width = `${seriesParams.add(bucketMs)}::bigint`;
  const seriesRows = await client.query<{ start: number; total: number; allowed: number; denied: number }>(
    `SELECT (time - ((time % ${width}) + ${width}) % ${width}) AS start, ${OUTCOME_COUNTS}
     FROM events WHERE ${period(seriesParams)} GROUP BY 1`,
    seriesParams.values,
  );
  const buckets = new Map<number, DashboardBucket>();
  for (let start = Math.floor(fromMs / bucketMs) * bucketMs; start < toMs; start += bucketMs) {
    buckets.set(start, { startMs: start, allowed: 0, denied: 0, other: 0 });
  }
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
    const column = LIST_COLUMNS[dim];
    const params = new SqlParams();
    const bySource = spec.source === undefined ? '' : ` AND source = ${params.add(spec.source)}`;
    const rows = await client.query<{ key: string; first: number }>(
      `SELECT min(${column}) AS key, min(time) AS first FROM events
       WHERE class_uid = ${params.add(DASHBOARD_CLASS_UID)} AND ${column} IS NOT NULL${bySource}
       GROUP BY lower(${column}) HAVING min(time) >= ${params.add(fromMs)} AND min(time) < ${params.add(toMs)}
       ORDER BY 2, 1`,
      params.values,
    );
    return {
      count: rows.rows.length,
      first: rows.rows.slice(0, limit).map((row) => ({ key: row.key, firstSeenMs: row.first })),
    };
  };

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
