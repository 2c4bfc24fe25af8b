import type Database from 'better-sqlite3';
import {
  DASHBOARD_CLASS_UID,
  dashboardBucketMs,
  type DashboardBucket,
  type DashboardCount,
  type DashboardNewValues,
  type DashboardSpec,
  type DashboardSummary,
} from '../dashboard-summary.js';

type Statement = Database.Statement<unknown[], unknown>;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

// What each dimension counts (migration 0008); `total` has the one key ''.
const DIMENSIONS = {
  total: null,
  user: 'user_name',
  app: 'app',
  country: 'country',
  idp: 'idp',
  activity: 'activity',
} as const satisfies Record<string, string | null>;
type Dimension = keyof typeof DIMENSIONS;
const DIMENSION_NAMES = Object.keys(DIMENSIONS) as Dimension[];
const FIRST_SEEN = ['user', 'app', 'country'] as const satisfies readonly Dimension[];

const GRAINS = [
  { table: 'summary_hours', ms: HOUR_MS },
  { table: 'summary_days', ms: DAY_MS },
] as const;

// Floor to a multiple of `ms`, also for times before 1970.
const floorSql = (column: string, ms: number): string => `${column} - ((${column} % ${ms}) + ${ms}) % ${ms}`;
const keySql = (dim: Dimension): string => DIMENSIONS[dim] ?? "''";
const presentSql = (dim: Dimension): string => {
  const column = DIMENSIONS[dim];
  return column === null ? '' : ` AND ${column} IS NOT NULL`;
};

/** The newest rows of `events_recent` (`seq > ?`): one append's events, which always land there. */
const BATCH = `events_recent WHERE seq > ? AND class_uid = ${DASHBOARD_CLASS_UID}`;
/** Both tiers over `[?, ?)`. */
function rangeSql(dim: Dimension, extra: string): string {
  const columns = `time, source, outcome, ${keySql(dim)} AS key`;
  const where = `time >= ? AND time < ? AND class_uid = ${DASHBOARD_CLASS_UID}${presentSql(dim)}${extra}`;
  return `(SELECT ${columns} FROM events WHERE ${where} UNION ALL SELECT ${columns} FROM events_recent WHERE ${where})`;
}

const UPSERT = 'ON CONFLICT (dim, period, source, key, outcome) DO UPDATE SET n = n + excluded.n';

function addBatchSql(dim: Dimension, grain: (typeof GRAINS)[number]): string {
  return `INSERT INTO ${grain.table} (dim, period, source, key, outcome, n)
    SELECT '${dim}', ${floorSql('time', grain.ms)}, source, ${keySql(dim)}, lower(outcome), count(*)
    FROM ${BATCH}${presentSql(dim)} GROUP BY 2, 3, 4, 5 ${UPSERT}`;
}

function firstSeenBatchSql(dim: (typeof FIRST_SEEN)[number]): string {
  const column = keySql(dim);
  return `INSERT INTO summary_first_seen (dim, source, key, first_ms)
    SELECT '${dim}', source, ${column}, min(time) FROM ${BATCH}${presentSql(dim)} GROUP BY 2, 3
    ON CONFLICT (dim, source, key) DO UPDATE SET first_ms = excluded.first_ms WHERE excluded.first_ms < first_ms`;
}

// Rebuilds one period's rows from the events still stored; parameters: period start, then [start, end) twice.
function rebuildPeriodSql(dim: Dimension, grain: (typeof GRAINS)[number]): string {
  return `INSERT INTO ${grain.table} (dim, period, source, key, outcome, n)
    SELECT '${dim}', ?, source, key, lower(outcome), count(*) FROM ${rangeSql(dim, '')} GROUP BY 3, 4, 5`;
}

interface CountRow {
  readonly key: string;
  readonly outcome: string;
  readonly n: number;
}

/** Counts of one list being merged from several parts; keys compare like SQLite's NOCASE (ASCII only). */
class Tally {
  readonly #entries = new Map<string, { key: string; allowed: number; denied: number; other: number }>();

  add(rows: readonly CountRow[]): void {
    for (const row of rows) {
      const fold = row.key.replace(/[A-Z]/g, (c) => c.toLowerCase());
      let entry = this.#entries.get(fold);
      if (entry === undefined) {
        entry = { key: row.key, allowed: 0, denied: 0, other: 0 };
        this.#entries.set(fold, entry);
      }
      if (row.outcome === 'success') entry.allowed += row.n;
      else if (row.outcome === 'failure') entry.denied += row.n;
      else entry.other += row.n;
    }
  }

  /** Most first; ties by key, so the order is stable. */
  sorted(by: 'total' | 'denied', limit: number): DashboardCount[] {
    const counts = [...this.#entries.values()].map((entry) => ({
      key: entry.key,
      total: entry.allowed + entry.denied + entry.other,
      allowed: entry.allowed,
      denied: entry.denied,
    }));
    return counts
      .filter((count) => count[by] > 0)
      .sort((a, b) => b[by] - a[by] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, limit);
  }
}

/** A stretch of the period and where its counts come from. */
interface Part {
  readonly from: number;
  readonly to: number;
  readonly table: 'summary_hours' | 'summary_days' | 'events';
}

/**
 * Splits `[from, to)` so that whole UTC days come from day rows, whole hours from hour rows and only the
 * partial hours at either end from the events themselves, which keeps every count exact.
 */
function partsOf(from: number, to: number): Part[] {
  const parts: Part[] = [];
  const push = (a: number, b: number, table: Part['table']): void => {
    if (a < b) parts.push({ from: a, to: b, table });
  };
  const h0 = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const h1 = Math.floor(to / HOUR_MS) * HOUR_MS;
  if (h0 >= h1) {
    push(from, to, 'events');
    return parts;
  }
  push(from, h0, 'events');
  const d0 = Math.ceil(h0 / DAY_MS) * DAY_MS;
  const d1 = Math.floor(h1 / DAY_MS) * DAY_MS;
  if (d0 < d1) {
    push(h0, d0, 'summary_hours');
    push(d0, d1, 'summary_days');
    push(d1, h1, 'summary_hours');
  } else {
    push(h0, h1, 'summary_hours');
  }
  push(h1, to, 'events');
  return parts;
}

/**
 * The per-hour and per-day authentication summary (migration 0008): kept by appends in their own transaction,
 * corrected after retention deletes, and read by the dashboard. `statement` is the store's prepared-statement
 * cache, so every text here is prepared once per connection.
 */
export class HourlySummary {
  readonly #statement: (sql: string) => Statement;

  constructor(statement: (sql: string) => Statement) {
    this.#statement = statement;
  }

  /**
   * Adds the events one append just wrote (every row of `events_recent` above `afterSeq`). Runs inside that
   * append's transaction, so the summary commits or rolls back with the events; duplicates never reach it.
   * A dozen grouped upserts per batch rather than one statement per event.
   */
  addAppended(afterSeq: number): void {
    for (const grain of GRAINS) {
      for (const dim of DIMENSION_NAMES) this.#statement(addBatchSql(dim, grain)).run(afterSeq);
    }
    for (const dim of FIRST_SEEN) this.#statement(firstSeenBatchSql(dim)).run(afterSeq);
  }

  /**
   * After retention deleted the events before `beforeMs`: drops the rows of hours and days wholly before it
   * and rebuilds the hour and the day that contain it from the events left. Rebuilding rather than
   * subtracting makes it safe to repeat after a delete that stopped half-way. Run it in a transaction.
   */
  afterDelete(beforeMs: number): void {
    for (const grain of GRAINS) {
      const period = Math.floor(beforeMs / grain.ms) * grain.ms;
      for (const dim of DIMENSION_NAMES) {
        this.#statement(`DELETE FROM ${grain.table} WHERE dim = ? AND period <= ?`).run(dim, period);
        const end = period + grain.ms;
        this.#statement(rebuildPeriodSql(dim, grain)).run(period, period, end, period, end);
      }
    }
  }

  dashboard(spec: DashboardSpec): DashboardSummary {
    const { fromMs, toMs } = spec;
    const limit = Math.max(1, Math.floor(spec.limit));
    const source = spec.source;
    const parts = partsOf(fromMs, toMs);
    const tally = (dim: Dimension): Tally => {
      const result = new Tally();
      for (const part of parts) result.add(this.#counts(dim, part, source));
      return result;
    };
    const bucketMs = dashboardBucketMs(fromMs, toMs);
    const totals = tally('total').sorted('total', 1)[0];
    return {
      fromMs,
      toMs,
      bucketMs,
      series: this.#series(fromMs, toMs, bucketMs, source),
      totals: {
        total: totals?.total ?? 0,
        allowed: totals?.allowed ?? 0,
        denied: totals?.denied ?? 0,
        other: totals === undefined ? 0 : totals.total - totals.allowed - totals.denied,
      },
      users: tally('user').sorted('total', limit),
      apps: tally('app').sorted('total', limit),
      idps: tally('idp').sorted('total', limit),
      countries: tally('country').sorted('total', Number.MAX_SAFE_INTEGER),
      denied: tally('activity').sorted('denied', limit),
      newUsers: this.#newValues('user', fromMs, toMs, source, limit),
      newApps: this.#newValues('app', fromMs, toMs, source, limit),
      newCountries: this.#newValues('country', fromMs, toMs, source, limit),
    };
  }

  #counts(dim: Dimension, part: Part, source: string | undefined): CountRow[] {
    const bySource = source === undefined ? '' : ' AND source = ?';
    if (part.table === 'events') {
      const sql = `SELECT key, lower(outcome) AS outcome, count(*) AS n FROM ${rangeSql(dim, bySource)} GROUP BY 1, 2`;
      const params = source === undefined ? [part.from, part.to] : [part.from, part.to, source];
      return this.#statement(sql).all(...params, ...params) as CountRow[];
    }
    const sql = `SELECT key, outcome, sum(n) AS n FROM ${part.table}
      WHERE dim = ? AND period >= ? AND period < ?${bySource} GROUP BY 1, 2`;
    const params = source === undefined ? [dim, part.from, part.to] : [dim, part.from, part.to, source];
    return this.#statement(sql).all(...params) as CountRow[];
  }

  #series(fromMs: number, toMs: number, bucketMs: number, source: string | undefined): DashboardBucket[] {
    const first = Math.floor(fromMs / bucketMs) * bucketMs;
    const buckets = new Map<number, { startMs: number; allowed: number; denied: number; other: number }>();
    for (let start = first; start < toMs; start += bucketMs) {
      buckets.set(start, { startMs: start, allowed: 0, denied: 0, other: 0 });
    }
    const bySource = source === undefined ? '' : ' AND source = ?';
    const add = (rows: readonly { bucket: number; outcome: string; n: number }[]): void => {
      for (const row of rows) {
        const bucket = buckets.get(row.bucket);
        if (bucket === undefined) continue;
        if (row.outcome === 'success') bucket.allowed += row.n;
        else if (row.outcome === 'failure') bucket.denied += row.n;
        else bucket.other += row.n;
      }
    };
    const fromEvents = (from: number, to: number): void => {
      const sql = `SELECT ${floorSql('time', bucketMs)} AS bucket, lower(outcome) AS outcome, count(*) AS n
        FROM ${rangeSql('total', bySource)} GROUP BY 1, 2`;
      const params = source === undefined ? [from, to] : [from, to, source];
      add(this.#statement(sql).all(...params, ...params) as { bucket: number; outcome: string; n: number }[]);
    };
    // Hour rows serve buckets of whole hours; narrower buckets (short periods) are counted from the events.
    const h0 = Math.ceil(fromMs / HOUR_MS) * HOUR_MS;
    const h1 = Math.floor(toMs / HOUR_MS) * HOUR_MS;
    if (bucketMs % HOUR_MS !== 0 || h0 >= h1) {
      fromEvents(fromMs, toMs);
    } else {
      fromEvents(fromMs, h0);
      const sql = `SELECT ${floorSql('period', bucketMs)} AS bucket, outcome, sum(n) AS n FROM summary_hours
        WHERE dim = 'total' AND period >= ? AND period < ?${bySource} GROUP BY 1, 2`;
      const params = source === undefined ? [h0, h1] : [h0, h1, source];
      add(this.#statement(sql).all(...params) as { bucket: number; outcome: string; n: number }[]);
      fromEvents(h1, toMs);
    }
    return [...buckets.values()];
  }

  #newValues(
    dim: (typeof FIRST_SEEN)[number],
    fromMs: number,
    toMs: number,
    source: string | undefined,
    limit: number,
  ): DashboardNewValues {
    const bySource = source === undefined ? '' : ' AND source = ?';
    const sql = `SELECT key, min(first_ms) AS first FROM summary_first_seen WHERE dim = ?${bySource}
      GROUP BY key HAVING first >= ? AND first < ? ORDER BY first, key`;
    const params = source === undefined ? [dim, fromMs, toMs] : [dim, source, fromMs, toMs];
    const rows = this.#statement(sql).all(...params) as { key: string; first: number }[];
    return {
      count: rows.length,
      first: rows.slice(0, limit).map((row) => ({ key: row.key, firstSeenMs: row.first })),
    };
  }
}
