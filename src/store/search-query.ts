/**
 * The query model both stores compile to parameterised SQL. The query language (query-language.ts) parses
 * into it; values never become SQL text.
 */
export const SEARCH_FIELDS = [
  'id',
  'time',
  'source',
  'account_id',
  'dataset',
  'class_uid',
  'activity',
  'outcome',
  'user',
  'src_ip',
  'country',
  'app',
  'app_uid',
  'idp',
  'ray_id',
] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];

export type SearchFilter =
  | { readonly kind: 'and' | 'or'; readonly left: SearchFilter; readonly right: SearchFilter }
  | { readonly kind: 'not'; readonly operand: SearchFilter }
  /** `field: null` matches the value against every text field (a bare word in the query). `*` is a wildcard. */
  | { readonly kind: 'term'; readonly field: SearchField | null; readonly value: string; readonly wildcard: boolean }
  /** An address range from CIDR notation, inclusive, as canonical lowercase strings in `start`..`end`. */
  | {
      readonly kind: 'cidr';
      readonly field: 'src_ip';
      readonly version: 4 | 6;
      readonly start: string;
      readonly end: string;
    }
  | {
      readonly kind: 'range';
      readonly field: SearchField;
      readonly min: string | number | null;
      readonly max: string | number | null;
      readonly minInclusive: boolean;
      readonly maxInclusive: boolean;
    };

export interface SearchQuery {
  readonly filter: SearchFilter | null;
  /** Inclusive lower bound, epoch ms. */
  readonly fromMs?: number;
  /** Exclusive upper bound, epoch ms. */
  readonly toMs?: number;
  readonly order: 'asc' | 'desc';
}

export interface PageRequest {
  readonly limit: number;
  /** Opaque keyset position returned as `nextPage` by the previous call. */
  readonly after?: string;
}
