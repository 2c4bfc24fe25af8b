import { DASHBOARD_CLASS_UID } from './dashboard-summary.js';
import { toInteger } from './search-columns.js';
import type { SearchField, SearchFilter } from './search-query.js';
import type { HistogramSpec } from './store.js';

/**
 * What both stores' authentication summaries can answer, and how a period splits between them and the events.
 * The summaries (SQLite migration 0008, PostgreSQL migration 0011) count Authentication events (OCSF class 3002)
 * per hour and per UTC day, by source and lower-cased outcome, once in total (`dim` 'total', key '') and once per
 * user, application, country, IdP and activity. Appends keep them in the transaction of the events they count,
 * so a summary row always equals a count of the stored events.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export type SummaryTable = 'summary_hours' | 'summary_days';

/** A stretch `[from, to)` of a period and where its counts come from. */
export interface SummaryPart {
  readonly from: number;
  readonly to: number;
  readonly table: SummaryTable | 'events';
}

/**
 * Splits `[fromMs, toMs)` so that whole UTC days come from day rows (when `days`), whole hours from hour rows
 * and only the partial hours at either end from the events, which keeps every count exact.
 */
export function summaryParts(fromMs: number, toMs: number, days: boolean): SummaryPart[] {
  const parts: SummaryPart[] = [];
  const push = (from: number, to: number, table: SummaryPart['table']): void => {
    if (from < to) parts.push({ from, to, table });
  };
  const h0 = Math.ceil(fromMs / HOUR_MS) * HOUR_MS;
  const h1 = Math.floor(toMs / HOUR_MS) * HOUR_MS;
  if (h0 >= h1) {
    push(fromMs, toMs, 'events');
    return parts;
  }
  push(fromMs, h0, 'events');
  const d0 = Math.ceil(h0 / DAY_MS) * DAY_MS;
  const d1 = Math.floor(h1 / DAY_MS) * DAY_MS;
  if (days && d0 < d1) {
    push(h0, d0, 'summary_hours');
    push(d0, d1, 'summary_days');
    push(d1, h1, 'summary_hours');
  } else {
    push(h0, h1, 'summary_hours');
  }
  push(h1, toMs, 'events');
  return parts;
}

/** The summary dimensions a search can narrow to: each counts one column, without regard to ASCII case. */
export type SummaryDimension = 'total' | 'app' | 'country' | 'idp';

// Left out on purpose: activity, which search matches with case while the summary folds it, and the user, whose
// events the events' (user, time) index finds faster than a walk through the many user rows of a long period.
const DIMENSION_OF: Partial<Record<SearchField, Exclude<SummaryDimension, 'total'>>> = {
  app: 'app',
  country: 'country',
  idp: 'idp',
};

// Fields every summary row carries: the source as stored and the outcome in lower case.
const ROW_FIELDS: ReadonlySet<SearchField> = new Set(['source', 'outcome']);

export interface SummaryFilterPlan {
  /** The rows to read: `total`, or those of the one column the filter narrows. */
  readonly dim: SummaryDimension;
  /**
   * The filter without its class restriction, over `source`, `outcome` and the dimension's column only, to be
   * compiled against a summary row (that column being the row's `key`); null matches every row.
   */
  readonly rowFilter: SearchFilter | null;
  /** The filter holds `class_uid:3002`, so no event of another class can match it. */
  readonly loginsOnly: boolean;
}

/**
 * How the summary answers `filter` for the authentications, or null when it cannot. It can when the filter is
 * an AND of parts that each read either only `source` and `outcome`, or only one of the application, country
 * and IdP columns without a NOT (an event without a value in that column then never matches, as it has
 * no row of that dimension either), or are `class_uid:3002`. Events of other classes are not in the summary;
 * unless `loginsOnly`, the caller counts those from the events.
 */
export function summaryFilterPlan(filter: SearchFilter | null): SummaryFilterPlan | null {
  let dim: SummaryDimension = 'total';
  let loginsOnly = false;
  const kept: SearchFilter[] = [];
  for (const part of conjuncts(filter)) {
    if (isLoginClass(part)) {
      loginsOnly = true;
      continue;
    }
    const fields = fieldsOf(part);
    if (fields === null) return null;
    if ([...fields].every((field) => ROW_FIELDS.has(field))) {
      kept.push(part);
      continue;
    }
    const [field] = fields;
    const partDim = fields.size === 1 && field !== undefined ? DIMENSION_OF[field] : undefined;
    if (partDim === undefined || hasNot(part) || (dim !== 'total' && dim !== partDim)) return null;
    dim = partDim;
    kept.push(part);
  }
  const rowFilter = kept.reduce<SearchFilter | null>(
    (left, right) => (left === null ? right : { kind: 'and', left, right }),
    null,
  );
  return { dim, rowFilter, loginsOnly };
}

function conjuncts(filter: SearchFilter | null): SearchFilter[] {
  if (filter === null) return [];
  if (filter.kind === 'and') return [...conjuncts(filter.left), ...conjuncts(filter.right)];
  return [filter];
}

function isLoginClass(filter: SearchFilter): boolean {
  return (
    filter.kind === 'term' &&
    filter.field === 'class_uid' &&
    !filter.wildcard &&
    toInteger('class_uid', filter.value) === DASHBOARD_CLASS_UID
  );
}

/** The fields `filter` reads, or null when it reads every text field (a bare word). */
function fieldsOf(filter: SearchFilter): Set<SearchField> | null {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      const left = fieldsOf(filter.left);
      const right = fieldsOf(filter.right);
      return left === null || right === null ? null : new Set([...left, ...right]);
    }
    case 'not':
      return fieldsOf(filter.operand);
    case 'term':
      return filter.field === null ? null : new Set([filter.field]);
    case 'cidr':
    case 'range':
      return new Set([filter.field]);
  }
}

function hasNot(filter: SearchFilter): boolean {
  if (filter.kind === 'not') return true;
  if (filter.kind === 'and' || filter.kind === 'or') return hasNot(filter.left) || hasNot(filter.right);
  return false;
}

/**
 * One SELECT of a histogram: events of `[from, to)` matching the whole filter (only those of classes the summary
 * does not count, for `otherClasses`), or summary rows of `dim` matching `rowFilter`.
 */
export type HistogramPiece =
  | { readonly table: 'events'; readonly from: number; readonly to: number; readonly otherClasses: boolean }
  | {
      readonly table: SummaryTable;
      readonly from: number;
      readonly to: number;
      readonly dim: SummaryDimension;
      readonly rowFilter: SearchFilter | null;
    };

/**
 * What a histogram reads. When the filter allows it and buckets are whole hours, the authentications of whole
 * hours (and whole days, for buckets of whole days) come from the summary, and the partial hours at either end
 * and the events of other classes from the events; otherwise every matching event is counted. Either way the
 * counts are exact.
 */
export function histogramPieces(spec: HistogramSpec): HistogramPiece[] {
  const bucketMs = Math.max(1, Math.floor(spec.bucketMs));
  const everything: HistogramPiece[] = [{ table: 'events', from: spec.fromMs, to: spec.toMs, otherClasses: false }];
  const plan = bucketMs % HOUR_MS === 0 ? summaryFilterPlan(spec.filter) : null;
  if (plan === null) return everything;
  const parts = summaryParts(spec.fromMs, spec.toMs, bucketMs % DAY_MS === 0);
  const summarised = parts.filter((part) => part.table !== 'events');
  const first = summarised[0];
  const last = summarised[summarised.length - 1];
  if (first === undefined || last === undefined) return everything;
  const pieces = parts.map(({ from, to, table }): HistogramPiece =>
    table === 'events'
      ? { table, from, to, otherClasses: false }
      : { table, from, to, dim: plan.dim, rowFilter: plan.rowFilter },
  );
  if (!plan.loginsOnly) pieces.push({ table: 'events', from: first.from, to: last.to, otherClasses: true });
  return pieces;
}
