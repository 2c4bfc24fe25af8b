import type Database from 'better-sqlite3';
import { DAY_MS, HOUR_MS, summaryParts, type SummaryPart as Part } from '../auth-summary-plan.js';
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
const FIRST_SEEN_DIMENSIONS: ReadonlySet<Dimension> = new Set(FIRST_SEEN);

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

/** Both tiers over `[?, ?)`. */
function rangeSql(dim: Dimension, extra: string): string {
  const columns = `time, source, outcome, ${keySql(dim)} AS key`;
  const where = `time >= ? AND time < ? AND class_uid = ${DASHBOARD_CLASS_UID}${presentSql(dim)}${extra}`;
  return `(SELECT ${columns} FROM events WHERE ${where} UNION ALL SELECT ${columns} FROM events_recent WHERE ${where})`;
}

function upsertSql(table: (typeof GRAINS)[number]['table']): string {
  return `INSERT INTO ${table} (dim, period, source, key, outcome, n) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (dim, period, source, key, outcome) DO UPDATE SET n = n + excluded.n`;
}

const firstSeenId = (dim: string, source: string, key: string): string => `${dim}\u0000${source}\u0000${foldCase(key)}`;
// Values a process keeps first-seen times of (users, apps and countries of every source), and how many upserts
// that were not skipped make it read them again.
const FIRST_SEEN_CACHE_LIMIT = 200_000;
const FIRST_SEEN_RELOAD_MISSES = 500;

const UPSERT_FIRST_SEEN_SQL = `INSERT INTO summary_first_seen (dim, source, key, first_ms) VALUES (?, ?, ?, ?)
  ON CONFLICT (dim, source, key) DO UPDATE SET first_ms = excluded.first_ms WHERE excluded.first_ms < first_ms`;

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

interface BucketRow {
  readonly bucket: number;
  readonly outcome: string;
  readonly n: number;
}

// One event: time, source, outcome, then the key of each dimension, in this order.
export type SummaryEventRow = [
  number,
  string,
  string,
  string | null,
  string | null,
  string | null,
  string | null,
  string,
];
const EVENT_ROW_COLUMNS = 'time, source, outcome, user_name, app, country, idp, activity';
// Where each dimension's key is in a row (null: the one key of `total`), and the dimension's place in DIMENSION_NAMES.
const ROW_DIMENSIONS: readonly (readonly [number | null, Dimension, number])[] = (
  [
    [null, 'total'],
    [3, 'user'],
    [4, 'app'],
    [5, 'country'],
    [6, 'idp'],
    [7, 'activity'],
  ] as const
).map(([index, dim]) => [index, dim, DIMENSION_NAMES.indexOf(dim)] as const);

// The rows of a tally kept by some prefix, then by dimension, then by key.
function rowsOf<T>(tally: ReadonlyMap<string, readonly ReadonlyMap<string, T>[]>): T[] {
  return [...tally.values()].flatMap((byDimension) => byDimension.flatMap((byKey) => [...byKey.values()]));
}

// Keys compare like SQLite's NOCASE: ASCII letters only.
const foldCase = (key: string): string => key.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Counts of one list being merged from several parts. */
class Tally {
  readonly #entries = new Map<string, { key: string; allowed: number; denied: number; other: number }>();

  add(rows: readonly CountRow[]): void {
    for (const row of rows) this.#add(row.key, row.outcome, row.n);
  }

  addOne(key: string, outcome: string): void {
    this.#add(key, outcome, 1);
  }

  #add(key: string, outcome: string, n: number): void {
    const fold = foldCase(key);
    let entry = this.#entries.get(fold);
    if (entry === undefined) {
      entry = { key, allowed: 0, denied: 0, other: 0 };
      this.#entries.set(fold, entry);
    }
    if (outcome === 'success') entry.allowed += n;
    else if (outcome === 'failure') entry.denied += n;
    else entry.other += n;
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

/** Every bucket of the period, empty ones included, filled from summary rows and single events. */
class Series {
  readonly #bucketMs: number;
  readonly #buckets = new Map<number, { startMs: number; allowed: number; denied: number; other: number }>();

  constructor(fromMs: number, toMs: number, bucketMs: number) {
    this.#bucketMs = bucketMs;
    for (let start = Math.floor(fromMs / bucketMs) * bucketMs; start < toMs; start += bucketMs) {
      this.#buckets.set(start, { startMs: start, allowed: 0, denied: 0, other: 0 });
    }
  }

  add(rows: readonly BucketRow[]): void {
    for (const row of rows) this.#add(row.bucket, row.outcome, row.n);
  }

  addOne(time: number, outcome: string): void {
    this.#add(Math.floor(time / this.#bucketMs) * this.#bucketMs, outcome, 1);
  }

  #add(bucketStart: number, outcome: string, n: number): void {
    const bucket = this.#buckets.get(bucketStart);
    if (bucket === undefined) return;
    if (outcome === 'success') bucket.allowed += n;
    else if (outcome === 'failure') bucket.denied += n;
    else bucket.other += n;
  }

  buckets(): DashboardBucket[] {
    return [...this.#buckets.values()];
  }
}

/**
 * The per-hour and per-day authentication summary (migration 0008): kept by appends in their own transaction,
 * corrected after retention deletes, and read by the dashboard. `statement` is the store's prepared-statement
 * cache, so every text here is prepared once per connection.
 */
export class HourlySummary {
  readonly #statement: (sql: string) => Statement;
  #firstSeen: ReadonlyMap<string, number> | null | undefined;
  #firstSeenMisses = 0;

  constructor(statement: (sql: string) => Statement) {
    this.#statement = statement;
  }

  /**
   * Adds the events one append just wrote, as stored (authentications only, see summaryRowOf). Runs inside that
   * append's transaction, so the summary commits or rolls back with the events; duplicates never reach it.
   * Summed in memory, then one upsert per distinct summary row.
   */
  addAppended(rows: readonly SummaryEventRow[]): void {
    // Summed in memory first, per hour and then per day from the hours, so each distinct row costs one upsert
    // however many events it counts.
    type Row = [Dimension, number, string, string, string, number];
    const folded = new Map<string, string>();
    const fold = (key: string): string => {
      let value = folded.get(key);
      if (value === undefined) {
        value = foldCase(key);
        folded.set(key, value);
      }
      return value;
    };
    // Rows by hour, source and outcome, then by dimension and folded key: one composed key per event instead of
    // one per dimension, since a Map hashes a composed string anew each time.
    const hours = new Map<string, Map<string, Row>[]>();
    const firstSeen = new Map<string, Map<string, [Dimension, string, string, number]>[]>();
    const perDimension = <T>(): Map<string, T>[] => DIMENSION_NAMES.map(() => new Map<string, T>());
    for (const row of rows) {
      const [time, source, rawOutcome] = row;
      const outcome = rawOutcome.toLowerCase();
      const hour = time - (((time % HOUR_MS) + HOUR_MS) % HOUR_MS);
      const slot = `${hour}\u0000${source}\u0000${outcome}`;
      let byDimension = hours.get(slot);
      if (byDimension === undefined) {
        byDimension = perDimension<Row>();
        hours.set(slot, byDimension);
      }
      let seenByDimension = firstSeen.get(source);
      if (seenByDimension === undefined) {
        seenByDimension = perDimension<[Dimension, string, string, number]>();
        firstSeen.set(source, seenByDimension);
      }
      for (const [index, dim, position] of ROW_DIMENSIONS) {
        const key = index === null ? '' : row[index];
        if (typeof key !== 'string') continue;
        const folded = fold(key);
        const counted = byDimension[position]?.get(folded);
        if (counted === undefined) byDimension[position]?.set(folded, [dim, hour, source, key, outcome, 1]);
        else counted[5] += 1;
        if (!FIRST_SEEN_DIMENSIONS.has(dim)) continue;
        const seen = seenByDimension[position]?.get(folded);
        if (seen === undefined) seenByDimension[position]?.set(folded, [dim, source, key, time]);
        else if (time < seen[3]) seen[3] = time;
      }
    }
    const hourRows = rowsOf(hours);
    const days = new Map<string, Row>();
    for (const [dim, hour, source, key, outcome, n] of hourRows) {
      const day = hour - (((hour % DAY_MS) + DAY_MS) % DAY_MS);
      const id = `${dim}\u0000${day}\u0000${source}\u0000${fold(key)}\u0000${outcome}`;
      const entry = days.get(id);
      if (entry === undefined) days.set(id, [dim, day, source, key, outcome, n]);
      else entry[5] += n;
    }
    const upsertHour = this.#statement(upsertSql('summary_hours'));
    for (const entry of hourRows) upsertHour.run(...entry);
    const upsertDay = this.#statement(upsertSql('summary_days'));
    for (const entry of days.values()) upsertDay.run(...entry);
    const known = this.#knownFirstSeen();
    const upsertFirst = this.#statement(UPSERT_FIRST_SEEN_SQL);
    for (const entry of rowsOf(firstSeen)) {
      const stored = known?.get(firstSeenId(entry[0], entry[1], entry[2]));
      if (stored !== undefined && stored <= entry[3]) continue;
      upsertFirst.run(...entry);
      this.#firstSeenMisses += 1;
    }
  }

  /**
   * First-seen times as committed when last read, to skip the upserts that cannot lower them: a stored time only
   * ever goes down, so a value read once stays an upper bound. It is read again after enough misses, at the start
   * of a summary step, where the transaction has not written the table yet and sees only committed rows. Null
   * (no skipping) when the table is too large to keep in memory.
   */
  #knownFirstSeen(): ReadonlyMap<string, number> | null {
    if (this.#firstSeen === undefined || this.#firstSeenMisses > FIRST_SEEN_RELOAD_MISSES) {
      this.#firstSeenMisses = 0;
      const size = (this.#statement('SELECT count(*) AS n FROM summary_first_seen').get() as { n: number }).n;
      if (size > FIRST_SEEN_CACHE_LIMIT) {
        this.#firstSeen = null;
      } else {
        const rows = this.#statement('SELECT dim, source, key, first_ms FROM summary_first_seen').raw().all() as [
          string,
          string,
          string,
          number,
        ][];
        this.#firstSeen = new Map(rows.map(([dim, source, key, first]) => [firstSeenId(dim, source, key), first]));
      }
    }
    return this.#firstSeen;
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
    const bucketMs = dashboardBucketMs(fromMs, toMs);
    // Buckets narrower than an hour (periods of up to a few hours) are counted from the events alone.
    const parts: Part[] =
      bucketMs % HOUR_MS === 0 ? summaryParts(fromMs, toMs, true) : [{ from: fromMs, to: toMs, table: 'events' }];
    const tallies = new Map(DIMENSION_NAMES.map((dim) => [dim, new Tally()]));
    const series = new Series(fromMs, toMs, bucketMs);
    for (const part of parts) {
      if (part.table === 'events') {
        // One read of the events of a partial hour serves every list and the series.
        for (const row of this.#eventRows(part, source)) {
          const outcome = row[2].toLowerCase();
          series.addOne(row[0], outcome);
          for (const [index, dim] of ROW_DIMENSIONS) {
            const key = index === null ? '' : row[index];
            if (typeof key === 'string') tallies.get(dim)?.addOne(key, outcome);
          }
        }
        continue;
      }
      for (const dim of DIMENSION_NAMES) tallies.get(dim)?.add(this.#counts(dim, part, source));
    }
    const hours = parts.filter((part) => part.table !== 'events');
    if (hours.length > 0) {
      const first = hours[0]?.from ?? fromMs;
      const last = hours[hours.length - 1]?.to ?? toMs;
      series.add(this.#hourBuckets(first, last, bucketMs, source));
    }
    const list = (dim: Dimension, by: 'total' | 'denied', count: number): DashboardCount[] =>
      tallies.get(dim)?.sorted(by, count) ?? [];
    const totals = list('total', 'total', 1)[0];
    return {
      fromMs,
      toMs,
      bucketMs,
      series: series.buckets(),
      totals: {
        total: totals?.total ?? 0,
        allowed: totals?.allowed ?? 0,
        denied: totals?.denied ?? 0,
        other: totals === undefined ? 0 : totals.total - totals.allowed - totals.denied,
      },
      users: list('user', 'total', limit),
      apps: list('app', 'total', limit),
      idps: list('idp', 'total', limit),
      countries: list('country', 'total', Number.MAX_SAFE_INTEGER),
      denied: list('activity', 'denied', limit),
      newUsers: this.#newValues('user', fromMs, toMs, source, limit),
      newApps: this.#newValues('app', fromMs, toMs, source, limit),
      newCountries: this.#newValues('country', fromMs, toMs, source, limit),
    };
  }

  #eventRows(part: Part, source: string | undefined): SummaryEventRow[] {
    const where = `time >= ? AND time < ? AND class_uid = ${DASHBOARD_CLASS_UID}${source === undefined ? '' : ' AND source = ?'}`;
    const sql = `SELECT ${EVENT_ROW_COLUMNS} FROM events WHERE ${where}
      UNION ALL SELECT ${EVENT_ROW_COLUMNS} FROM events_recent WHERE ${where}`;
    const params = source === undefined ? [part.from, part.to] : [part.from, part.to, source];
    return this.#statement(sql)
      .raw()
      .all(...params, ...params) as SummaryEventRow[];
  }

  #counts(dim: Dimension, part: Part, source: string | undefined): CountRow[] {
    const bySource = source === undefined ? '' : ' AND source = ?';
    const sql = `SELECT key, outcome, sum(n) AS n FROM ${part.table}
      WHERE dim = ? AND period >= ? AND period < ?${bySource} GROUP BY 1, 2`;
    const params = source === undefined ? [dim, part.from, part.to] : [dim, part.from, part.to, source];
    return this.#statement(sql).all(...params) as CountRow[];
  }

  #hourBuckets(fromMs: number, toMs: number, bucketMs: number, source: string | undefined): BucketRow[] {
    const bySource = source === undefined ? '' : ' AND source = ?';
    const sql = `SELECT ${floorSql('period', bucketMs)} AS bucket, outcome, sum(n) AS n FROM summary_hours
      WHERE dim = 'total' AND period >= ? AND period < ?${bySource} GROUP BY 1, 2`;
    const params = source === undefined ? [fromMs, toMs] : [fromMs, toMs, source];
    return this.#statement(sql).all(...params) as BucketRow[];
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
