import { AppError } from '../core/errors.js';
import { BARE_TERM_FIELDS } from './search-columns.js';
import type { SearchField, SearchFilter } from './search-query.js';

// SQLite takes at most 32766 parameters in a statement (PostgreSQL's count wraps at 65535), and a histogram may
// repeat a filter's nine times in one (both tiers of three stretches of events, three of the summary), with a
// few parameters of its own each.
const MAX_FILTER_PARAMS = 3000;
// SQLite refuses an expression more than 1000 levels deep; the WHERE around a filter and its leaves add about a
// dozen levels to the parentheses counted here.
const MAX_FILTER_DEPTH = 900;
// An OR of at least this many exact values of one field (a pasted list of indicators) is compared as one list
// parameter: one parameter and one level, however long the list. Shorter lists keep a comparison per value,
// whose index plans everyday queries rely on.
const IN_LIST_MIN = 8;

/** How one store writes the parts of a filter; the chain logic below is the same for both. */
export interface FilterDialect {
  node(filter: SearchFilter): string;
  term(field: SearchField, value: string): string;
  valueList(field: SearchField, values: readonly string[]): string;
}

/**
 * An AND or OR chain as SQL: flattened and joined as a balanced tree, whatever shape it came in (nested a level
 * per term, a list of 1,000 terms would pass SQLite's limit of 1000 levels). In an OR, the exact values of a
 * field named IN_LIST_MIN times or more are gathered into one list, and so in an AND are those of
 * `NOT field:value` (NOT a AND NOT b being NOT (a OR b)). A bare word counts once for each field it is matched
 * against. The dialect is called in the order of the text, as SQLite's `?` parameters need.
 */
export function compileChain(filter: Extract<SearchFilter, { kind: 'and' | 'or' }>, dialect: FilterDialect): string {
  const parts = chainParts(filter.kind, chainOperands(filter), dialect);
  return joinBalanced(parts, filter.kind === 'and' ? 'AND' : 'OR', 0, parts.length);
}

// The operands of a chain of one operator, in order, however the chain is nested; without recursion.
function chainOperands(filter: Extract<SearchFilter, { kind: 'and' | 'or' }>): SearchFilter[] {
  const operands: SearchFilter[] = [];
  const pending: SearchFilter[] = [filter];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.kind === filter.kind) pending.push(next.right, next.left);
    else operands.push(next);
  }
  return operands;
}

function joinBalanced(parts: readonly string[], operator: 'AND' | 'OR', from: number, to: number): string {
  if (to - from === 1) return parts[from] ?? '';
  const middle = from + Math.ceil((to - from) / 2);
  return `(${joinBalanced(parts, operator, from, middle)} ${operator} ${joinBalanced(parts, operator, middle, to)})`;
}

function chainParts(kind: 'and' | 'or', operands: readonly SearchFilter[], dialect: FilterDialect): string[] {
  const exact = (operand: SearchFilter): ExactTerm | null =>
    kind === 'or' ? exactTerm(operand) : operand.kind === 'not' ? exactTerm(operand.operand) : null;
  const lists = exactValueLists(operands.map(exact));
  if (lists.size === 0) return operands.map((operand) => dialect.node(operand));
  const negate = (sql: string): string => (kind === 'or' ? sql : `(NOT ${sql})`);
  const parts: string[] = [];
  const emitted = new Set<SearchField>();
  for (const operand of operands) {
    const term = exact(operand);
    const fields = term === null ? [] : exactFields(term);
    if (term === null || !fields.some((field) => lists.has(field))) {
      parts.push(dialect.node(operand));
      continue;
    }
    for (const field of fields) {
      const values = lists.get(field);
      if (values === undefined) parts.push(negate(dialect.term(field, term.value)));
      else if (!emitted.has(field)) {
        emitted.add(field);
        parts.push(negate(dialect.valueList(field, values)));
      }
    }
  }
  return parts;
}

type ExactTerm = Extract<SearchFilter, { kind: 'term' }>;

function exactTerm(filter: SearchFilter): ExactTerm | null {
  return filter.kind === 'term' && !filter.wildcard ? filter : null;
}

// The fields an exact term is compared with: its own, or for a bare word all those bare words search.
function exactFields(term: ExactTerm): readonly SearchField[] {
  return term.field === null ? BARE_TERM_FIELDS : [term.field];
}

// The values of each field named IN_LIST_MIN times or more among `terms`.
function exactValueLists(terms: readonly (ExactTerm | null)[]): Map<SearchField, string[]> {
  const lists = new Map<SearchField, string[]>();
  for (const term of terms) {
    if (term === null) continue;
    for (const field of exactFields(term)) {
      const values = lists.get(field) ?? [];
      values.push(term.value);
      lists.set(field, values);
    }
  }
  for (const [field, values] of lists) if (values.length < IN_LIST_MIN) lists.delete(field);
  return lists;
}

/**
 * Refuses, with QUERY_SYNTAX, a compiled filter too large or too deeply nested for the stores to run. Values
 * travel as parameters, so every parenthesis in the text is structure: their nesting is the depth.
 */
export function checkFilterSize(sql: string, paramCount: number): void {
  if (paramCount > MAX_FILTER_PARAMS) {
    throw new AppError('QUERY_SYNTAX', {
      message: `The query is too large to run: it compares ${paramCount} values one by one, and a search can compare at most ${MAX_FILTER_PARAMS}.`,
      hint: 'Split it into smaller searches. A list of exact values of one field, such as src_ip:(203.0.113.1 OR 203.0.113.2 OR …), counts as one however long it is.',
    });
  }
  let depth = 0;
  let deepest = 0;
  for (const char of sql) {
    if (char === '(') deepest = Math.max(deepest, (depth += 1));
    else if (char === ')') depth -= 1;
  }
  if (deepest > MAX_FILTER_DEPTH) {
    throw new AppError('QUERY_SYNTAX', {
      message: `The query is too deeply nested to run: its terms nest ${deepest} levels deep, and a search takes at most ${MAX_FILTER_DEPTH}.`,
      hint: 'Write it with fewer parentheses and NOTs one inside another.',
    });
  }
}
