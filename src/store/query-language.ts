import { createRequire } from 'node:module';
import { z } from 'zod';
import { AppError, type ErrorCode } from '../core/errors.js';
import { OUTCOMES } from '../core/event.js';
import { relativeTimeMs } from '../core/time-expression.js';
import { cidrRange, ipKey } from './ip-key.js';
import { SEARCH_FIELDS, type SearchField, type SearchFilter } from './search-query.js';

/**
 * Parses the analyst's search text into the store's filter model. Empty text means "match everything" (null).
 * Syntax: `field:value`, `"quoted value"`, `*` wildcards, AND / OR / NOT / `-field:value`, parentheses
 * (adjacent terms are ANDed), ranges `time:[2024-01-01T00:00:00Z TO *]`, CIDR blocks `src_ip:10.0.0.0/8`.
 * With `nowMs`, a time range may also say `now` or a time relative to it (`time:[-7d TO now]`), as --from does;
 * without it such a bound is refused. Throws AppError QUERY_SYNTAX, QUERY_FIELD_UNKNOWN or QUERY_VALUE_INVALID
 * with the column in the message.
 */
export function parseQuery(text: string, nowMs?: number): SearchFilter | null {
  if (text.trim() === '') return null;
  const prepared = prepare(text);
  let ast: unknown;
  try {
    ast = lucene.parse(prepared.text);
  } catch (error) {
    throw syntaxError(text, prepared, error);
  }
  return new Converter(text, prepared, nowMs).root(ast);
}

/** Friendly names analysts type, mapped onto the store's fields. */
export const FIELD_ALIASES: Readonly<Record<string, SearchField>> = {
  'user.email': 'user',
  'user.email_addr': 'user',
  'actor.user.email_addr': 'user',
  email: 'user',
  ip: 'src_ip',
  'src_endpoint.ip': 'src_ip',
  ip_address: 'src_ip',
  status: 'outcome',
  application: 'app',
  app_domain: 'app',
  connection: 'idp',
  action: 'activity',
  ray: 'ray_id',
  'country.code': 'country',
  account: 'account_id',
};

const OUTCOME_ALIASES: Readonly<Record<string, string>> = {
  allowed: 'success',
  allow: 'success',
  denied: 'failure',
  deny: 'failure',
  blocked: 'failure',
};

// The package ships CommonJS without type declarations; its output is validated below, never trusted.
const lucene = createRequire(import.meta.url)('lucene') as { parse(query: string): unknown };

const locationSchema = z
  .object({ start: z.object({ offset: z.number() }) })
  .nullable()
  .optional();
const termNodeSchema = z.object({
  field: z.string(),
  fieldLocation: locationSchema,
  term: z.string(),
  quoted: z.boolean(),
  regex: z.boolean(),
  termLocation: locationSchema,
  prefix: z.string().nullable().optional(),
  similarity: z.number().nullable().optional(),
  boost: z.number().nullable().optional(),
  proximity: z.number().nullable().optional(),
});
const rangeNodeSchema = z.object({
  field: z.string(),
  fieldLocation: locationSchema,
  term_min: z.string(),
  term_max: z.string(),
  inclusive: z.enum(['both', 'none', 'left', 'right']),
});
const opNodeSchema = z.object({
  left: z.unknown().optional(),
  right: z.unknown().optional(),
  operator: z.string().optional(),
  start: z.string().optional(),
  parenthesized: z.boolean().optional(),
  field: z.string().optional(),
  fieldLocation: locationSchema,
});
type OpNode = z.infer<typeof opNodeSchema>;

interface Prepared {
  readonly text: string;
  // For each index of the prepared text, the index in the user's text it came from.
  readonly origin: readonly number[];
}

// The lucene grammar reads `/` as a regex delimiter and `:` as the field separator, so CIDR blocks and IPv6
// addresses typed without quotes would not parse. Such values are quoted here; `origin` maps positions back so
// errors still point into what the user typed.
function prepare(text: string): Prepared {
  let out = '';
  const origin: number[] = [];
  const emit = (chunk: string, from: number): void => {
    for (let index = 0; index < chunk.length; index += 1) {
      out += chunk[index];
      origin.push(from);
    }
  };
  const copy = (start: number, end: number): void => {
    for (let index = start; index < end; index += 1) {
      out += text[index];
      origin.push(index);
    }
  };
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index] ?? '';
    if (/\s/.test(char)) {
      // One space per run: the grammar only recognises "AND NOT" with a single space and drops the NOT otherwise.
      emit(' ', index);
      while (index < text.length && /\s/.test(text[index] ?? '')) index += 1;
    } else if (char === '"') {
      tokens.push({ kind: 'term', text: char, at: index });
      let end = index + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      copy(index, Math.min(end + 1, text.length));
      index = end + 1;
    } else if (char === '[' || char === '{') {
      tokens.push({ kind: 'term', text: char, at: index });
      let end = index + 1;
      while (end < text.length && text[end] !== ']' && text[end] !== '}') end += 1;
      copy(index, Math.min(end + 1, text.length));
      index = end + 1;
    } else if (/[()\]}]/.test(char)) {
      tokens.push({ kind: char === '(' ? 'open' : 'close', text: char, at: index });
      copy(index, index + 1);
      index += 1;
    } else {
      let end = index;
      while (end < text.length && !/[\s()"[{\]}]/.test(text[end] ?? '')) end += 1;
      const token = text.slice(index, end);
      tokens.push({
        kind: OPERATORS.has(token) ? (token === 'NOT' ? 'not' : 'binary') : /:$/.test(token) ? 'field' : 'term',
        text: token,
        at: index,
      });
      const sign = /^[-+!]/.test(token) ? 1 : 0;
      const bare = token.slice(sign);
      const field = /^([-+!]?[A-Za-z_][A-Za-z0-9_.]*):(.+)$/s.exec(token);
      if (needsQuotes(bare) && (ipKey(bare) !== null || cidrRange(bare) !== null)) {
        copy(index, index + sign);
        emit('"', index + sign);
        copy(index + sign, end);
        emit('"', end - 1);
      } else if (field !== null && needsQuotes(field[2] ?? '')) {
        const name = field[1] ?? '';
        copy(index, index + name.length + 1);
        const valueStart = index + name.length + 1;
        emit('"', valueStart);
        copy(valueStart, end);
        emit('"', end - 1);
      } else {
        copy(index, end);
      }
      index = end;
    }
  }
  checkOperators(text, tokens);
  return { text: out, origin };
}

interface Token {
  readonly kind: 'term' | 'field' | 'binary' | 'not' | 'open' | 'close';
  readonly text: string;
  readonly at: number;
}

const OPERATORS = new Set(['AND', 'OR', 'NOT', '&&', '||']);

// The grammar silently drops operators it cannot place (`a AND`, `a AND OR b`, `NOT NOT a`), which would
// quietly widen a search. Such queries are refused here instead.
function checkOperators(text: string, tokens: readonly Token[]): void {
  let previous: Token | undefined;
  for (const token of tokens) {
    const after = previous === undefined ? 'the start of the query' : `"${previous.text}"`;
    const previousIsOperator = previous?.kind === 'binary' || previous?.kind === 'not';
    if (
      token.kind === 'binary' &&
      (previous === undefined || previous.kind === 'open' || previousIsOperator || previous.kind === 'field')
    ) {
      throw queryError('QUERY_SYNTAX', text, token.at, `expected a term between ${after} and "${token.text}"`);
    }
    if (token.kind === 'not' && (previous?.kind === 'not' || previous?.kind === 'field')) {
      throw queryError('QUERY_SYNTAX', text, token.at, `expected a term after ${after}`);
    }
    if (token.kind === 'close' && previous !== undefined && (previousIsOperator || previous.kind === 'open')) {
      throw queryError('QUERY_SYNTAX', text, token.at, `expected a term after ${after}`);
    }
    previous = token;
  }
  if (previous !== undefined && (previous.kind === 'binary' || previous.kind === 'not')) {
    throw queryError('QUERY_SYNTAX', text, text.length, `expected a term after "${previous.text}"`);
  }
}

function needsQuotes(value: string): boolean {
  // `/.../` is left alone so the grammar reports it as a regex, which we then refuse with a clear message.
  return /[:/]/.test(value) && !value.includes('\\') && !/^\/.*\/$/s.test(value);
}

class Converter {
  readonly #text: string;
  readonly #prepared: Prepared;
  readonly #nowMs: number | undefined;

  constructor(text: string, prepared: Prepared, nowMs: number | undefined) {
    this.#text = text;
    this.#prepared = prepared;
    this.#nowMs = nowMs;
  }

  root(ast: unknown): SearchFilter | null {
    const node = opNodeSchema.safeParse(ast);
    if (!node.success) throw this.#error('QUERY_SYNTAX', 'the query could not be read', 0);
    if (node.data.left === undefined) {
      if (node.data.operator !== undefined) {
        throw this.#error('QUERY_SYNTAX', `expected a term after "${node.data.operator}"`, this.#text.length);
      }
      return null;
    }
    return this.#node(node.data, null);
  }

  // lucene chains operators to the right with no precedence; flatten the chain and apply NOT > AND > OR.
  #node(node: OpNode, defaultField: string | null): SearchFilter {
    const field = node.field ?? defaultField;
    const operands: SearchFilter[] = [];
    const operators: ('and' | 'or')[] = [];
    let current: OpNode = node;
    let negateNext = current.start === 'NOT' || current.start === '!';
    for (;;) {
      const left = this.#operand(current.left, field);
      operands.push(negateNext ? { kind: 'not', operand: left } : left);
      if (current.right === undefined) break;
      const operator = current.operator ?? '<implicit>';
      negateNext = operator.endsWith('NOT');
      operators.push(operator === 'OR' || operator === 'OR NOT' || operator === '||' ? 'or' : 'and');
      const right = opNodeSchema.safeParse(current.right);
      if (
        right.success &&
        right.data.left !== undefined &&
        right.data.parenthesized !== true &&
        right.data.field === undefined
      ) {
        current = right.data;
        if (current.start === 'NOT' || current.start === '!') negateNext = !negateNext;
        continue;
      }
      const operand = this.#operand(current.right, field);
      operands.push(negateNext ? { kind: 'not', operand } : operand);
      break;
    }
    // AND binds tighter than OR: group runs of AND first, then join the groups with OR.
    const groups: SearchFilter[] = [];
    let group = operands[0] as SearchFilter;
    for (const [index, operator] of operators.entries()) {
      const next = operands[index + 1] as SearchFilter;
      if (operator === 'and') {
        group = { kind: 'and', left: group, right: next };
      } else {
        groups.push(group);
        group = next;
      }
    }
    groups.push(group);
    return groups.reduce((left, right) => ({ kind: 'or', left, right }));
  }

  #operand(value: unknown, defaultField: string | null): SearchFilter {
    const range = rangeNodeSchema.safeParse(value);
    if (range.success) return this.#range(range.data, defaultField);
    const term = termNodeSchema.safeParse(value);
    if (term.success) return this.#term(term.data, defaultField);
    const node = opNodeSchema.safeParse(value);
    if (node.success && node.data.left !== undefined) {
      const inner = this.#node(node.data, defaultField);
      // `-field:(a OR b)`: lucene glues the sign to the field name of a group.
      return node.data.field !== undefined && /^[-!]/.test(node.data.field) ? { kind: 'not', operand: inner } : inner;
    }
    throw this.#error('QUERY_SYNTAX', 'expected a term', this.#text.length);
  }

  #term(node: z.infer<typeof termNodeSchema>, defaultField: string | null): SearchFilter {
    const valueAt = this.#offset(node.termLocation?.start.offset ?? 0);
    if (node.regex)
      throw this.#error('QUERY_SYNTAX', 'regular expressions (/.../) are not supported; use * wildcards', valueAt);
    if (node.similarity != null || node.boost != null || node.proximity != null) {
      throw this.#error('QUERY_SYNTAX', 'fuzzy, proximity and boost modifiers (~ ^) are not supported', valueAt);
    }
    const { field, negated } = this.#field(node.field, node.fieldLocation?.start.offset ?? null, defaultField);
    const value = node.term.replace(/\\(.)/g, '$1');
    const wildcard = !node.quoted && /(^|[^\\])\*/.test(node.term);
    const filter = this.#value(field, value, wildcard, valueAt);
    const negate = negated !== (node.prefix === '-' || node.prefix === '!');
    return negate ? { kind: 'not', operand: filter } : filter;
  }

  #value(field: SearchField | null, value: string, wildcard: boolean, at: number): SearchFilter {
    if (value === '') throw this.#error('QUERY_VALUE_INVALID', 'the value is empty', at);
    if (field === 'outcome' && !wildcard) {
      const lower = value.toLowerCase();
      const outcome = OUTCOME_ALIASES[lower] ?? lower;
      if (!(OUTCOMES as readonly string[]).includes(outcome)) {
        throw this.#error(
          'QUERY_VALUE_INVALID',
          `"${value}" is not an outcome; use ${OUTCOMES.join(', ')} (or allowed, denied)`,
          at,
        );
      }
      return { kind: 'term', field, value: outcome, wildcard: false };
    }
    if (field === 'src_ip' && !wildcard) {
      if (value.includes('/')) {
        const range = cidrRange(value);
        if (range === null)
          throw this.#error(
            'QUERY_VALUE_INVALID',
            `"${value}" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32`,
            at,
          );
        return { kind: 'cidr', field: 'src_ip', version: range.version, start: range.start, end: range.end };
      }
      if (ipKey(value) === null) throw this.#error('QUERY_VALUE_INVALID', `"${value}" is not an IP address`, at);
    }
    if (field === null && !wildcard && value.includes('/')) {
      const range = cidrRange(value);
      if (range !== null)
        return { kind: 'cidr', field: 'src_ip', version: range.version, start: range.start, end: range.end };
    }
    if (field === 'time' && !wildcard)
      return { kind: 'term', field, value: String(this.#time(value, at)), wildcard: false };
    if (field === 'class_uid' && !wildcard && !/^\d+$/.test(value)) {
      throw this.#error('QUERY_VALUE_INVALID', `"${value}" is not a class number such as 3002`, at);
    }
    return { kind: 'term', field, value, wildcard };
  }

  #range(node: z.infer<typeof rangeNodeSchema>, defaultField: string | null): SearchFilter {
    const fieldAt = node.fieldLocation?.start.offset ?? null;
    const { field, negated } = this.#field(node.field, fieldAt, defaultField);
    const at = this.#offset(fieldAt ?? 0);
    if (field === null) throw this.#error('QUERY_SYNTAX', 'a range needs a field, as in time:[2024-01-01 TO *]', at);
    const bound = (raw: string): string | number | null => {
      if (raw === '*') return null;
      if (field === 'time') return this.#time(raw, at);
      if (field === 'class_uid') {
        if (!/^\d+$/.test(raw)) throw this.#error('QUERY_VALUE_INVALID', `"${raw}" is not a class number`, at);
        return Number(raw);
      }
      if (field === 'src_ip' && ipKey(raw) === null)
        throw this.#error('QUERY_VALUE_INVALID', `"${raw}" is not an IP address`, at);
      return raw;
    };
    const filter: SearchFilter = {
      kind: 'range',
      field,
      min: bound(node.term_min),
      max: bound(node.term_max),
      minInclusive: node.inclusive === 'both' || node.inclusive === 'left',
      maxInclusive: node.inclusive === 'both' || node.inclusive === 'right',
    };
    return negated ? { kind: 'not', operand: filter } : filter;
  }

  // Epoch ms, an ISO 8601 date/time (a date alone is midnight UTC), or now and times relative to it.
  #time(value: string, at: number): number {
    if (/^\d{1,15}$/.test(value)) return Number(value);
    const relative = this.#nowMs === undefined ? null : relativeTimeMs(value, this.#nowMs);
    if (relative !== null) return relative;
    if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
      const withZone = /T|\s/.test(value) && !/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? `${value}Z` : value;
      const parsed = Date.parse(withZone);
      if (!Number.isNaN(parsed)) return parsed;
    }
    throw this.#error(
      'QUERY_VALUE_INVALID',
      `"${value}" is not a time; use ISO 8601 (2024-01-31T12:00:00Z), epoch milliseconds, now or a time relative to it such as -7d`,
      at,
    );
  }

  #field(
    raw: string,
    rawAt: number | null,
    defaultField: string | null,
  ): { field: SearchField | null; negated: boolean } {
    if (raw === '<implicit>')
      return { field: defaultField === null ? null : this.#resolve(defaultField, null), negated: false };
    const negated = raw.startsWith('-') || raw.startsWith('!');
    const name = raw.replace(/^[-+!]/, '');
    return {
      field: this.#resolve(name, rawAt === null ? null : rawAt + (name.length === raw.length ? 0 : 1)),
      negated,
    };
  }

  #resolve(name: string, rawAt: number | null): SearchField {
    const lower = name.replace(/^[-+!]/, '').toLowerCase();
    const known = (SEARCH_FIELDS as readonly string[]).includes(lower) ? (lower as SearchField) : FIELD_ALIASES[lower];
    if (known !== undefined) return known;
    const at = this.#offset(rawAt ?? 0);
    const error = this.#error('QUERY_FIELD_UNKNOWN', `there is no field "${name}"`, at);
    throw new AppError('QUERY_FIELD_UNKNOWN', {
      message: `${error.message}. Valid fields: ${SEARCH_FIELDS.join(', ')} (also ${Object.keys(FIELD_ALIASES).join(', ')}).`,
      hint: error.hint ?? '',
      details: { ...error.details, field: name, validFields: [...SEARCH_FIELDS] },
    });
  }

  #offset(preparedOffset: number): number {
    return this.#prepared.origin[preparedOffset] ?? this.#text.length;
  }

  #error(code: ErrorCode, what: string, offset: number): AppError {
    return queryError(code, this.#text, offset, what);
  }
}

function queryError(code: ErrorCode, text: string, offset: number, what: string): AppError {
  const column = offset + 1;
  const pointer = `${text}\n${' '.repeat(offset)}^`;
  const lead =
    code === 'QUERY_SYNTAX'
      ? 'Query does not parse'
      : code === 'QUERY_FIELD_UNKNOWN'
        ? 'Unknown field'
        : 'Invalid value';
  return new AppError(code, {
    message: `${lead} at column ${column}: ${what}`,
    hint: pointer,
    details: { column, pointer },
  });
}

const pegErrorSchema = z.object({
  location: z.object({ start: z.object({ offset: z.number() }) }),
  found: z.string().nullable(),
});

function syntaxError(text: string, prepared: Prepared, error: unknown): AppError {
  const parsed = pegErrorSchema.safeParse(error);
  if (!parsed.success) {
    return new AppError('QUERY_SYNTAX', { message: 'Query does not parse.', cause: error });
  }
  const preparedOffset = parsed.data.location.start.offset;
  const offset =
    preparedOffset >= prepared.text.length ? text.length : (prepared.origin[preparedOffset] ?? text.length);
  const before = text.slice(0, offset).trimEnd();
  let what: string;
  if (parsed.data.found === null) {
    const lastWord = /(\S+)$/.exec(before)?.[1] ?? '';
    if (before.endsWith(':')) what = `expected a value after "${lastWord}"`;
    else if (/^(AND|OR|NOT|&&|\|\|)$/.test(lastWord)) what = `expected a term after "${lastWord}"`;
    else if ((text.match(/"/g)?.length ?? 0) % 2 === 1) what = 'a quoted value is not closed';
    else if ((text.match(/\(/g)?.length ?? 0) > (text.match(/\)/g)?.length ?? 0)) what = 'a "(" is not closed';
    else what = 'the query ends too early';
  } else if (parsed.data.found === ')') {
    what = 'this ")" has no matching "("';
  } else if (parsed.data.found === ':') {
    what = 'unexpected ":"; quote values that contain ":"';
  } else {
    what = `unexpected "${parsed.data.found}"`;
  }
  const result = queryError('QUERY_SYNTAX', text, offset, what);
  return new AppError('QUERY_SYNTAX', {
    message: result.message,
    hint: result.hint ?? '',
    details: result.details,
    cause: error,
  });
}
