import { histogramPieces, type HistogramPiece } from '../auth-summary-plan.js';
import { DASHBOARD_CLASS_UID } from '../dashboard-summary.js';
import type { HistogramSpec } from '../store.js';
import { compileFilter, SqlParams, type ColumnOf } from './queries.js';

// A summary row's fields as search reads them: the outcome as stored (lower-cased) and the dimension's value as
// `key`; search compares both through lower(), as it does the events' columns.
const summaryColumn: ColumnOf = (field) => (field === 'source' || field === 'outcome' ? field : 'key');

// Floors to a multiple of the bucket width, also for times before 1970.
const startSql = (column: string, width: string): string =>
  `(${column} - ((${column} % ${width}) + ${width}) % ${width})`;

/**
 * The histogram (see histogramPieces) as one statement, so every piece reads the same snapshot: the summary
 * rows of migration 0011 where the filter allows, the events elsewhere.
 */
export function histogramSql(spec: HistogramSpec): { readonly sql: string; readonly params: SqlParams } {
  const params = new SqlParams();
  const width = `${params.add(Math.max(1, Math.floor(spec.bucketMs)))}::bigint`;
  const piece = (part: HistogramPiece): string => {
    const period = (column: string): string =>
      `${column} >= ${params.add(part.from)} AND ${column} < ${params.add(part.to)}`;
    if (part.table === 'events') {
      // Written out, not a parameter, so the planner matches the partial index events_other_class_time.
      const classes = part.otherClasses ? `class_uid <> ${DASHBOARD_CLASS_UID} AND ` : '';
      const filter = spec.filter === null ? '' : ` AND ${compileFilter(spec.filter, params)}`;
      return `SELECT ${startSql('time', width)} AS start, count(*) AS n FROM events
        WHERE ${classes}${period('time')}${filter} GROUP BY 1`;
    }
    const rows = part.rowFilter === null ? '' : ` AND ${compileFilter(part.rowFilter, params, summaryColumn)}`;
    return `SELECT ${startSql('period', width)} AS start, sum(n) AS n FROM ${part.table}
      WHERE dim = ${params.add(part.dim)} AND ${period('period')}${rows} GROUP BY 1`;
  };
  const pieces = histogramPieces(spec).map(piece);
  const sql = `SELECT start, sum(n)::bigint AS n FROM (${pieces.join(' UNION ALL ')}) AS pieces
    GROUP BY start ORDER BY start`;
  return { sql, params };
}
