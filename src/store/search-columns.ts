import { AppError } from '../core/errors.js';
import type { SearchField } from './search-query.js';

/** How a search field is stored: the same columns in both stores. */
export interface ColumnInfo {
  readonly column: string;
  readonly kind: 'text' | 'integer' | 'ip';
  // Matched with ASCII letters folded and every other character as written (see foldAscii): SQLite declares
  // these COLLATE NOCASE and uses LIKE rather than GLOB for their wildcards; PostgreSQL compares lower() of the
  // column, which folds ASCII only under its collation "C", with the value folded here.
  readonly nocase: boolean;
  // Stored lower-cased by String.prototype.toLowerCase (users, activities, dataset names), while OCSF and the UI
  // show `Logon` and a record may say `Über@…`: the typed value is lower-cased the same way, which matches any
  // spelling of a letter and keeps a plain index on the column usable.
  readonly lowered: boolean;
}

export const SEARCH_COLUMNS: Readonly<Record<SearchField, ColumnInfo>> = {
  id: { column: 'id', kind: 'text', nocase: false, lowered: false },
  time: { column: 'time', kind: 'integer', nocase: false, lowered: false },
  source: { column: 'source', kind: 'text', nocase: false, lowered: false },
  account_id: { column: 'account_id', kind: 'text', nocase: false, lowered: false },
  dataset: { column: 'dataset', kind: 'text', nocase: false, lowered: true },
  class_uid: { column: 'class_uid', kind: 'integer', nocase: false, lowered: false },
  activity: { column: 'activity', kind: 'text', nocase: false, lowered: true },
  outcome: { column: 'outcome', kind: 'text', nocase: true, lowered: false },
  user: { column: 'user_name', kind: 'text', nocase: true, lowered: true },
  src_ip: { column: 'src_ip', kind: 'ip', nocase: false, lowered: false },
  country: { column: 'country', kind: 'text', nocase: true, lowered: false },
  app: { column: 'app', kind: 'text', nocase: true, lowered: false },
  app_uid: { column: 'app_uid', kind: 'text', nocase: false, lowered: false },
  idp: { column: 'idp', kind: 'text', nocase: true, lowered: false },
  ray_id: { column: 'ray_id', kind: 'text', nocase: false, lowered: false },
};

/**
 * Fields a bare word (no `field:`) is matched against, in both stores: every text field. A bare word matches an
 * event when `field:word` would for one of them, so each keeps its own rule for case.
 */
export const BARE_TERM_FIELDS: readonly SearchField[] = [
  'user',
  'src_ip',
  'app',
  'app_uid',
  'idp',
  'ray_id',
  'country',
  'activity',
  'outcome',
  'dataset',
  'source',
  'account_id',
  'id',
];

/**
 * The one case folding of search, the same in both stores: ASCII letters to lower case, every other character
 * as it is. It is what SQLite's NOCASE and LIKE and PostgreSQL's lower() under collation "C" do to the stored
 * values; folding the typed value any further (Ü to ü) would leave it unable to meet its stored spelling.
 */
export function foldAscii(value: string): string {
  return value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** A typed value (or pattern) as `field`'s column holds it: lower-cased for the fields stored in lower case. */
export function storedForm(field: SearchField, value: string): string {
  return SEARCH_COLUMNS[field].lowered ? value.toLowerCase() : value;
}

/** A typed value as search compares it with `field`'s column: its stored form, ASCII-folded for nocase columns. */
export function comparedForm(field: SearchField, value: string): string {
  const stored = storedForm(field, value);
  return SEARCH_COLUMNS[field].nocase ? foldAscii(stored) : stored;
}

export function columnFor(field: SearchField): string {
  return SEARCH_COLUMNS[field].column;
}

// Integers for `time` may be epoch ms or an ISO 8601 timestamp; other integer fields take digits only.
export function toInteger(field: SearchField, value: string): number | null {
  if (/^-?\d+$/.test(value)) {
    const number = Number(value);
    return Number.isSafeInteger(number) ? number : null;
  }
  if (field === 'time') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}

// `*` is the only wildcard of the query language; LIKE's own % and _ are escaped to stay literal.
export function toLikePattern(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `\\${char}`).replace(/\*/g, '%');
}

export function invalidQueryValue(message: string): AppError {
  return new AppError('QUERY_VALUE_INVALID', { message });
}
