/** What the dashboard asks for: authentications in `[fromMs, toMs)`, of every source or of one. */
export interface DashboardSpec {
  readonly fromMs: number;
  readonly toMs: number;
  readonly source?: string;
  /** Entries per top list and per list of new values. */
  readonly limit: number;
}

/** Authentications of one value (a user, an application, ...) by outcome. */
export interface DashboardCount {
  readonly key: string;
  readonly total: number;
  readonly allowed: number;
  readonly denied: number;
}

export interface DashboardBucket {
  /** Epoch ms, a multiple of the summary's `bucketMs`. */
  readonly startMs: number;
  readonly allowed: number;
  readonly denied: number;
  /** Neither allowed nor denied (Cloudflare did not say). */
  readonly other: number;
}

/** Values first seen inside the period: nothing stored before it, for the same sources, named them. */
export interface DashboardNewValues {
  readonly count: number;
  /** The earliest of them, at most `limit`. */
  readonly first: readonly { readonly key: string; readonly firstSeenMs: number }[];
}

/**
 * The dashboard over one period. It counts Authentication events (OCSF class 3002, Cloudflare Access logins);
 * events without a value for a list (no country, say) are counted in the totals but in no list.
 */
export interface DashboardSummary {
  readonly fromMs: number;
  readonly toMs: number;
  /** Width of each bucket of `series`, chosen for the length of the period. */
  readonly bucketMs: number;
  /** Every bucket that overlaps the period, oldest first, empty ones included. */
  readonly series: readonly DashboardBucket[];
  readonly totals: {
    readonly total: number;
    readonly allowed: number;
    readonly denied: number;
    readonly other: number;
  };
  readonly users: readonly DashboardCount[];
  readonly apps: readonly DashboardCount[];
  readonly idps: readonly DashboardCount[];
  /** Every country, most authentications first (the map shows them all; the top list is its head). */
  readonly countries: readonly DashboardCount[];
  /**
   * Denied authentications by what was attempted (the activity: logon, logoff, other), most first. Cloudflare's
   * Access log states no reason for a denial, so the activity is the most specific cause the data holds.
   */
  readonly denied: readonly DashboardCount[];
  readonly newUsers: DashboardNewValues;
  readonly newApps: DashboardNewValues;
  readonly newCountries: DashboardNewValues;
}

/** The OCSF class the dashboard counts: Authentication. */
export const DASHBOARD_CLASS_UID = 3002;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
// Candidate widths, narrowest first; the first giving at most MAX_BUCKETS buckets is taken.
const BUCKET_WIDTHS_MS = [
  MINUTE_MS,
  5 * MINUTE_MS,
  HOUR_MS,
  3 * HOUR_MS,
  6 * HOUR_MS,
  12 * HOUR_MS,
  DAY_MS,
  7 * DAY_MS,
];
const MAX_BUCKETS = 200;

/** Bucket width for a period: about a hundred to two hundred bars, on round UTC times. */
export function dashboardBucketMs(fromMs: number, toMs: number): number {
  const span = Math.max(1, toMs - fromMs);
  for (const width of BUCKET_WIDTHS_MS) if (Math.ceil(span / width) <= MAX_BUCKETS) return width;
  return Math.ceil(span / MAX_BUCKETS / DAY_MS) * DAY_MS;
}
