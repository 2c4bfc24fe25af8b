import { AppError } from '../core/errors.js';
import type { SearchField } from './search-query.js';

/** How a search field is stored: the same columns in both stores. */
export interface ColumnInfo {
  readonly column: string;
  readonly kind: 'text' | 'integer' | 'ip';
  // Matched without regard to (ASCII) case: SQLite declares these COLLATE NOCASE and uses LIKE rather than
  // GLOB for their wildcards; PostgreSQL compares them through lower().
  readonly nocase: boolean;
}

export const SEARCH_COLUMNS: Readonly<Record<SearchField, ColumnInfo>> = {
  id: { column: 'id', kind: 'text', nocase: false },
  time: { column: 'time', kind: 'integer', nocase: false },
  source: { column: 'source', kind: 'text', nocase: false },
  account_id: { column: 'account_id', kind: 'text', nocase: false },
  dataset: { column: 'dataset', kind: 'text', nocase: false },
  class_uid: { column: 'class_uid', kind: 'integer', nocase: false },
  activity: { column: 'activity', kind: 'text', nocase: false },
  outcome: { column: 'outcome', kind: 'text', nocase: true },
  user: { column: 'user_name', kind: 'text', nocase: true },
  src_ip: { column: 'src_ip', kind: 'ip', nocase: false },
  country: { column: 'country', kind: 'text', nocase: true },
  app: { column: 'app', kind: 'text', nocase: true },
  app_uid: { column: 'app_uid', kind: 'text', nocase: false },
  idp: { column: 'idp', kind: 'text', nocase: true },
  ray_id: { column: 'ray_id', kind: 'text', nocase: false },
};

/** Fields a bare word (no `field:`) is matched against, in both stores. */
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
];

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
