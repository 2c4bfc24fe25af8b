import type Database from 'better-sqlite3';
import { histogramPieces, type HistogramPiece } from '../auth-summary-plan.js';
import { DASHBOARD_CLASS_UID } from '../dashboard-summary.js';
import type { HistogramBucket, HistogramSpec } from '../store.js';
import { compileFilter, type ColumnOf } from './queries.js';

type Statement = Database.Statement<unknown[], unknown>;

// The two tiers every read covers; an event is in exactly one of them (migration 0002).
const TIERS = ['events', 'events_recent'] as const;
// The events of classes the summary does not count, by time (migration 0013). Named, so the planner reads them
// through the partial index, which it could not know holds only a few of the events.
const OTHER_CLASSES = {
  events: 'events INDEXED BY events_other_class_time',
  events_recent: 'events_recent',
} as const;

// A summary row's fields as search compares them: the outcome is stored lower-cased (so compared with NOCASE,
// as the events' column is) and the dimension's value is the NOCASE `key`.
const summaryColumn: ColumnOf = (field) => {
  if (field === 'source') return 'source';
  if (field === 'outcome') return '(outcome COLLATE NOCASE)';
  return 'key';
};

// Floors to a multiple of the bucket width, also for times before 1970; parameters: the width, three times.
const startSql = (column: string): string => `${column} - ((${column} % ?) + ?) % ?`;

/** One SELECT of the union and its parameters, in order. */
interface Piece {
  readonly sql: string;
  readonly params: readonly (string | number)[];
}

function pieces(spec: HistogramSpec, part: HistogramPiece, bucketMs: number): Piece[] {
  const head = [bucketMs, bucketMs, bucketMs, ...(part.table === 'events' ? [] : [part.dim]), part.from, part.to];
  if (part.table !== 'events') {
    const rows = part.rowFilter === null ? null : compileFilter(part.rowFilter, summaryColumn);
    return [
      {
        sql: `SELECT ${startSql('period')} AS start, sum(n) AS n FROM ${part.table}
          WHERE dim = ? AND period >= ? AND period < ?${rows === null ? '' : ` AND ${rows.sql}`} GROUP BY 1`,
        params: [...head, ...(rows?.params ?? [])],
      },
    ];
  }
  const filter = spec.filter === null ? null : compileFilter(spec.filter);
  // Written out, not a parameter, so the planner can use the partial index.
  const classes = part.otherClasses ? `class_uid <> ${DASHBOARD_CLASS_UID} AND ` : '';
  return TIERS.map((tier) => ({
    sql: `SELECT ${startSql('time')} AS start, count(*) AS n FROM ${part.otherClasses ? OTHER_CLASSES[tier] : tier}
      WHERE ${classes}time >= ? AND time < ?${filter === null ? '' : ` AND ${filter.sql}`} GROUP BY 1`,
    params: [...head, ...(filter?.params ?? [])],
  }));
}

/**
 * Matching events per bucket, as the Store contract's `histogram` asks (see histogramPieces), in one statement
 * so that every piece reads the same committed appends.
 */
export function sqliteHistogram(spec: HistogramSpec, statement: (sql: string) => Statement): HistogramBucket[] {
  const bucketMs = Math.max(1, Math.floor(spec.bucketMs));
  const all = histogramPieces(spec).flatMap((part) => pieces(spec, part, bucketMs));
  const sql = `SELECT start, sum(n) AS n FROM (${all.map((piece) => piece.sql).join(' UNION ALL ')})
    GROUP BY start ORDER BY start`;
  const rows = statement(sql)
    .raw()
    .all(...all.flatMap((piece) => piece.params)) as [number, number][];
  return rows.map(([start, n]) => ({ startMs: start, count: n }));
}
