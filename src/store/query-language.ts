import { AppError, type ErrorCode } from '../core/errors.js';
import { OUTCOMES } from '../core/event.js';
import { finerThanMs, parseTimeExpression, relativeTimeMs } from '../core/time-expression.js';
import { withoutNul } from '../core/flat-text.js';
import { flatString } from '../normalize/schema.js';
import { cidrRange, ipKey } from './ip-key.js';
import { storedForm } from './search-columns.js';
import { SEARCH_FIELDS, type SearchField, type SearchFilter } from './search-query.js';

/**
 * Parses the analyst's search text into the store's filter model. Empty text means "match everything" (null).
 * Syntax: `field:value`, `"quoted value"`, `*` wildcards, AND / OR / NOT in capitals, `-field:value`,
 * parentheses (adjacent terms are ANDed; NOT binds tighter than AND, AND tighter than OR), ranges
 * `time:[2024-01-01T00:00:00Z TO *]`, CIDR blocks `src_ip:10.0.0.0/8`. A time, in a range or as a value, is read
 * exactly as --from reads it; without `nowMs`, `now` and times relative to it are refused. Long AND and OR
 * chains come back as balanced trees, so their depth grows with the logarithm of their length. In a value, `\`
 * keeps the next character (`\"`, `\\`, `\*`), and `\u202e` or `\u{1f600}` stands for any character.
 * Throws AppError QUERY_SYNTAX, QUERY_FIELD_UNKNOWN or QUERY_VALUE_INVALID with the column in the message.
 */
export function parseQuery(text: string, nowMs?: number): SearchFilter | null {
  if (text.trim() === '') return null;
  return new Parser(text, nowMs).query();
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

// Each level of parentheses costs the stores' SQL a level or two of expression depth, which SQLite caps at
// 1000; no query written by hand comes near this, and it keeps the parser's recursion shallow.
const MAX_NESTING = 100;

// SQLite refuses a LIKE or GLOB pattern of 50,000 bytes or more; a character takes at most three, escaped.
const MAX_WILDCARD_LENGTH = 10_000;
// A date alone, as parseTimeExpression reads it (midnight UTC).
const BARE_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

// An operator is a whole word: `ANDROID` and `user:AND` are values.
const OPERATOR = /(AND|OR|NOT|&&|\|\|)(?=[\s()"]|$)/y;
const WORD_END = /[\s()"]/;

type Operator = 'AND' | 'OR' | 'NOT' | '&&' | '||';

class Parser {
  readonly #text: string;
  readonly #nowMs: number | undefined;
  #at = 0;

  constructor(text: string, nowMs: number | undefined) {
    this.#text = text;
    this.#nowMs = nowMs;
  }

  query(): SearchFilter {
    const filter = this.#expression(null, 0);
    if (this.#at < this.#text.length) throw this.#error('QUERY_SYNTAX', 'this ")" has no matching "("', this.#at);
    return filter;
  }

  // A chain of terms up to the end or a ")", read in a loop rather than recursively, so its length is limited
  // by nothing but memory.
  #expression(field: SearchField | null, depth: number): SearchFilter {
    const operands: SearchFilter[] = [];
    const operators: ('and' | 'or')[] = [];
    let previous: string | null = depth === 0 ? null : '(';
    for (;;) {
      this.#skipSpace();
      const at = this.#at;
      const char = this.#text[at];
      const wantsTerm = operands.length === operators.length;
      if (char === undefined || char === ')') {
        if (!wantsTerm) break;
        if (previous === null) throw this.#error('QUERY_SYNTAX', 'this ")" has no matching "("', at);
        throw this.#error('QUERY_SYNTAX', `expected a term after "${previous}"`, at);
      }
      const operator = this.#operatorAt(at);
      const binary = operator !== null && operator !== 'NOT' ? operator : null;
      if (wantsTerm) {
        if (binary !== null) {
          const after = previous === null ? 'the start of the query' : `"${previous}"`;
          throw this.#error('QUERY_SYNTAX', `expected a term between ${after} and "${binary}"`, at);
        }
        operands.push(this.#unary(field, depth));
      } else if (binary !== null) {
        this.#at += binary.length;
        operators.push(binary === 'OR' || binary === '||' ? 'or' : 'and');
        previous = binary;
      } else {
        operators.push('and');
      }
    }
    return precedence(operands, operators);
  }

  #unary(field: SearchField | null, depth: number): SearchFilter {
    if (this.#operatorAt(this.#at) !== 'NOT') return this.#primary(field, depth);
    this.#at += 'NOT'.length;
    this.#skipSpace();
    const next = this.#operatorAt(this.#at);
    if (next !== null && next !== 'NOT') {
      throw this.#error('QUERY_SYNTAX', `expected a term between "NOT" and "${next}"`, this.#at);
    }
    if (next === 'NOT' || this.#atEndOfTerm()) {
      throw this.#error('QUERY_SYNTAX', 'expected a term after "NOT"', this.#at);
    }
    return { kind: 'not', operand: this.#primary(field, depth) };
  }

  // A term, a range or a parenthesised group, each with an optional sign: - and ! exclude, + changes nothing.
  #primary(defaultField: SearchField | null, depth: number): SearchFilter {
    const start = this.#at;
    const sign = isSign(this.#text[start]) ? (this.#text[start] ?? '') : '';
    if (sign !== '') {
      this.#at += 1;
      if (this.#atEndOfTerm() || this.#operatorAt(this.#at) !== null) {
        throw this.#error(
          'QUERY_SYNTAX',
          `expected a term right after "${sign}"; quote "${sign}" to search for it`,
          start,
        );
      }
    }
    const filter = this.#afterSign(defaultField, depth, sign !== '');
    return sign === '-' || sign === '!' ? { kind: 'not', operand: filter } : filter;
  }

  #afterSign(defaultField: SearchField | null, depth: number, hasSign: boolean): SearchFilter {
    const at = this.#at;
    const char = this.#text[at];
    if (char === '(') return this.#group(defaultField, depth);
    if (char === '"') return this.#value(defaultField, this.#quoted(), false, at);
    if (char === '[' || char === '{') return this.#range(defaultField, at);
    const word = this.#word();
    const colon = unescapedIndexOf(word, ':');
    // Addresses, blocks and times hold colons too: typed alone (`fe80::1`, `::1`, or in `time:(2026-11-25T08:00:00Z
    // OR …)`) they are values. No field name begins with a digit; any other name is looked up, so a mistyped one is
    // reported rather than searched for as a word.
    const address = !word.includes('\\') && (ipKey(word) !== null || cidrRange(word) !== null);
    if (colon === 0 && !address) {
      throw this.#error('QUERY_SYNTAX', 'unexpected ":"; quote values that contain ":"', at);
    }
    const name = word.slice(0, colon);
    if (colon === -1 || address || /^\d/.test(name)) return this.#term(defaultField, word, at, !hasSign);
    const field = this.#resolve(name, at);
    this.#at = at + colon + 1;
    return this.#fieldValue(field, name, at, depth);
  }

  // What follows `field:`: a value, a quoted value, a range or a group of terms.
  #fieldValue(field: SearchField, name: string, fieldAt: number, depth: number): SearchFilter {
    const afterColon = this.#at;
    this.#skipSpace();
    const at = this.#at;
    const char = this.#text[at];
    if (this.#atEndOfTerm() || (at > afterColon && this.#operatorAt(at) !== null)) {
      throw this.#error('QUERY_SYNTAX', `expected a value after "${name}:"`, at);
    }
    if (char === '(') return this.#group(field, depth);
    if (char === '"') return this.#value(field, this.#quoted(), false, at);
    if (char === '[' || char === '{') return this.#range(field, fieldAt);
    if (char !== undefined && isSign(char)) throw this.#signedValue(name, char, at);
    return this.#term(field, this.#word(), at, false);
  }

  // Lucene-style grammars read `outcome:-failure` as excluding failures; it looks like a search for "-failure".
  // Neither reading is guessed: the message shows how to write each.
  #signedValue(name: string, sign: string, at: number): AppError {
    const rest = this.#text.slice(at + 1, wordEnd(this.#text, at + 1));
    const value = rest === '' ? '…' : rest;
    // `time:-1h` means "the last hour" to whoever types it: a time is one instant, and a period is a range.
    if (name === 'time' && sign === '-' && /^\d+[smhdw]$/.test(rest)) {
      return this.#error(
        'QUERY_SYNTAX',
        `time:-${rest} is not a period: a time is one instant; for the last ${rest}, write time:[-${rest} TO now], or set the period to it (--from -${rest} in the CLI)`,
        at,
      );
    }
    const search = `to search for a value that begins with "${sign}", quote it: ${name}:"${sign}${value}"`;
    const what =
      sign === '+'
        ? `"+" before a value is not an operator; write ${name}:${value}, or ${search}`
        : `"${sign}" before a value does not exclude it; to exclude, write -${name}:${value} or NOT ${name}:${value}; ${search}`;
    return this.#error('QUERY_SYNTAX', what, at);
  }

  #group(field: SearchField | null, depth: number): SearchFilter {
    const open = this.#at;
    if (depth >= MAX_NESTING) {
      throw this.#error(
        'QUERY_SYNTAX',
        `parentheses nest too deep here: at most ${MAX_NESTING} levels, one inside another, are allowed`,
        open,
      );
    }
    this.#at += 1;
    const inner = this.#expression(field, depth + 1);
    if (this.#at >= this.#text.length) throw this.#error('QUERY_SYNTAX', 'a "(" is not closed', this.#text.length);
    this.#at += 1;
    return inner;
  }

  #quoted(): string {
    const open = this.#at;
    let end = open + 1;
    while (end < this.#text.length && this.#text[end] !== '"') end += this.#text[end] === '\\' ? 2 : 1;
    if (end >= this.#text.length) throw this.#error('QUERY_SYNTAX', 'a quoted value is not closed', open);
    this.#at = end + 1;
    const modifier = this.#text[this.#at];
    if (modifier === '~' || modifier === '^') throw this.#modifierError(this.#at);
    this.#checkSeparated('quote');
    return this.#unescape(this.#text.slice(open + 1, end), open + 1).value;
  }

  // Text glued to a closing quote or bracket would be read as one more bare word, ANDed in, and match nothing.
  // An operator may touch it (`"okta"OR idp:github`), as it may touch a parenthesis.
  #checkSeparated(closing: 'quote' | 'bracket'): void {
    if (this.#atEndOfTerm() || this.#operatorAt(this.#at) !== null) return;
    const glued = this.#text.slice(this.#at, wordEnd(this.#text, this.#at)) || (this.#text[this.#at] ?? '');
    throw this.#error(
      'QUERY_SYNTAX',
      `"${glued}" follows the closing ${closing} without a space; separate the next term with a space${closing === 'quote' ? ', or put the whole value inside the quotes' : ''}`,
      this.#at,
    );
  }

  #term(field: SearchField | null, word: string, at: number, mayBeOperator: boolean): SearchFilter {
    if (/^\/.+\/$/s.test(word)) {
      throw this.#error('QUERY_SYNTAX', 'regular expressions (/.../) are not supported; use * wildcards', at);
    }
    const modifier = /^(?:\\.?|[^\\~^])*/s.exec(word)?.[0].length ?? word.length;
    if (modifier < word.length) throw this.#modifierError(at + modifier);
    // Only capitals are operators; a lowercase `and` between terms would otherwise be searched as a word and
    // quietly match nothing.
    if (mayBeOperator && /^(and|or|not)$/i.test(word)) {
      throw this.#error(
        'QUERY_SYNTAX',
        `"${word}" is not an operator: write AND, OR and NOT in capitals, or quote "${word}" to search for the word`,
        at,
      );
    }
    const wildcard = unescapedIndexOf(word, '*') !== -1;
    const { value, escapedStar } = this.#unescape(word, at);
    // A value is either exact or a pattern in which every * is a wildcard: a \* (or \u002a) beside a wildcard
    // cannot be told apart from it, and would silently match more than asked.
    if (wildcard && escapedStar) {
      throw this.#error(
        'QUERY_VALUE_INVALID',
        'a value with * wildcards cannot also hold a literal * (\\*); search for the literal * with the value quoted and no wildcard',
        at,
      );
    }
    return this.#value(field, value, wildcard, at);
  }

  #modifierError(at: number): AppError {
    return this.#error(
      'QUERY_SYNTAX',
      'fuzzy, proximity and boost modifiers (~ ^) are not supported; quote a value that contains ~ or ^',
      at,
    );
  }

  #value(field: SearchField | null, given: string, wildcard: boolean, at: number): SearchFilter {
    if (given === '') throw this.#error('QUERY_VALUE_INVALID', 'the value is empty', at);
    // Flat fields hold U+FFFD where a record had NUL (see flatString), so a NUL typed in a query finds them.
    const typed = withoutNul(given);
    const stored = field === null ? typed : storedForm(field, typed);
    // Flat fields keep the first FLAT_FIELD_MAX_BYTES of a value (see flatString): a longer one typed whole finds it.
    const value = wildcard ? stored : flatString(stored);
    if (wildcard && value.length > MAX_WILDCARD_LENGTH) {
      throw this.#error(
        'QUERY_VALUE_INVALID',
        `a value with * may be at most ${MAX_WILDCARD_LENGTH} characters long; this one has ${value.length}`,
        at,
      );
    }
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
    if (field === 'src_ip' && wildcard) return srcIpPattern(value);
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
    if (field === 'time') return this.#timeValue(value, wildcard, at);
    if (field === 'class_uid' && !wildcard && !/^\d+$/.test(value)) {
      throw this.#error('QUERY_VALUE_INVALID', `"${value}" is not a class number such as 3002`, at);
    }
    return { kind: 'term', field, value, wildcard };
  }

  // A time is one instant, kept as epoch ms. A bare date is the whole UTC day, as an analyst typing one means; a
  // pattern would be matched against the digits of the epoch ms, so it is refused.
  #timeValue(value: string, wildcard: boolean, at: number): SearchFilter {
    if (wildcard) {
      throw this.#error(
        'QUERY_VALUE_INVALID',
        `time takes one instant or a range, not a * pattern; for a day, write time:2026-11-25 or time:[2026-11-25 TO 2026-11-26}, and for a period time:[-24h TO now]`,
        at,
      );
    }
    const ms = this.#time(value, at, 'time');
    if (!BARE_DATE.test(value)) return { kind: 'term', field: 'time', value: String(ms), wildcard: false };
    return { kind: 'range', field: 'time', min: ms, max: ms + DAY_MS, minInclusive: true, maxInclusive: false };
  }

  // `[min TO max]`, `{min TO max}` or a mix; errors about a bound point at that bound.
  #range(field: SearchField | null, rangeAt: number): SearchFilter {
    const open = this.#at;
    if (field === null) {
      throw this.#error('QUERY_SYNTAX', 'a range needs a field, as in time:[2024-01-01 TO *]', open);
    }
    this.#at += 1;
    const min = this.#bound('lower');
    this.#skipSpace();
    const afterLower = this.#text[this.#at];
    if (afterLower === ']' || afterLower === '}') {
      throw this.#error(
        'QUERY_SYNTAX',
        `a range needs both bounds, as in ${field}:[a TO b]; write * for an open end, as in ${field}:[a TO *]`,
        this.#at,
      );
    }
    // TO may touch the closing bracket of a range whose upper bound is missing; #bound then says that.
    if (!/^TO(?=[\s\]}]|$)/.test(this.#text.slice(this.#at, this.#at + 3))) {
      throw this.#error('QUERY_SYNTAX', `expected "TO" between the bounds, as in ${field}:[a TO b]`, this.#at);
    }
    this.#at += 'TO'.length;
    const max = this.#bound('upper');
    this.#skipSpace();
    const close = this.#text[this.#at];
    if (close !== ']' && close !== '}') {
      const what = close === undefined ? 'a range is not closed' : 'expected "]" or "}" after the upper bound';
      throw this.#error('QUERY_SYNTAX', what, this.#at);
    }
    this.#at += 1;
    this.#checkSeparated('bracket');
    // Events are stored to the millisecond, so a time bound finer than that takes in its whole millisecond, as
    // --from and --to do: {…46.010692 keeps the event stored at 46.010, and so does …46.010692}.
    const minWithin = field === 'time' && finerThanMs(min.text);
    const maxWithin = field === 'time' && finerThanMs(max.text);
    const filter: Extract<SearchFilter, { kind: 'range' }> = {
      kind: 'range',
      field,
      min: this.#boundValue(field, min, 'start'),
      max: this.#boundValue(field, max, 'end'),
      minInclusive: this.#text[open] === '[' || minWithin,
      maxInclusive: close === ']' || maxWithin,
    };
    this.#checkNotEmpty(filter, min.text, max.text, rangeAt);
    return filter;
  }

  #bound(which: 'lower' | 'upper'): { readonly text: string; readonly at: number } {
    this.#skipSpace();
    const at = this.#at;
    let end = at;
    while (end < this.#text.length && !/[\s[\]{}]/.test(this.#text[end] ?? '')) end += 1;
    if (end === at) throw this.#error('QUERY_SYNTAX', `expected the ${which} bound of the range`, at);
    this.#at = end;
    return { text: this.#text.slice(at, end), at };
  }

  #boundValue(
    field: SearchField,
    bound: { readonly text: string; readonly at: number },
    which: 'start' | 'end',
  ): string | number | null {
    const raw = bound.text;
    if (raw === '*') return null;
    if (field === 'time') return this.#time(raw, bound.at, `the ${which} of the range`);
    if (field === 'class_uid') {
      if (!/^\d+$/.test(raw)) throw this.#error('QUERY_VALUE_INVALID', `"${raw}" is not a class number`, bound.at);
      return Number(raw);
    }
    if (field === 'src_ip' && ipKey(raw) === null) {
      throw this.#error('QUERY_VALUE_INVALID', `"${raw}" is not an IP address`, bound.at);
    }
    return raw;
  }

  // A range with nothing in it (its ends swapped, most often) would look like a store without such events.
  #checkNotEmpty(filter: Extract<SearchFilter, { kind: 'range' }>, minText: string, maxText: string, at: number): void {
    const { min, max } = filter;
    if (typeof min !== 'number' || typeof max !== 'number') return;
    const lowest = filter.minInclusive ? min : min + 1;
    const highest = filter.maxInclusive ? max : max - 1;
    if (lowest <= highest) return;
    const time = filter.field === 'time';
    const start = time ? `${minText} (${new Date(min).toISOString()})` : minText;
    const end = time ? `${maxText} (${new Date(max).toISOString()})` : maxText;
    const what =
      min > max
        ? `its start ${start} is after its end ${end}; give the ${time ? 'earlier time' : 'smaller bound'} first`
        : `nothing lies between its start ${start} and its end ${end} once the bounds in { } are left out`;
    throw this.#error('QUERY_VALUE_INVALID', `the range is empty: ${what}`, at);
  }

  // As --from reads a time (parseTimeExpression), with its message; `now` and relative times need `nowMs`.
  #time(value: string, at: number, what: string): number {
    if (this.#nowMs === undefined && relativeTimeMs(value, 0) !== null) {
      throw this.#error(
        'QUERY_VALUE_INVALID',
        `${what} "${value}" is relative to now, which this query is read without; give ISO 8601 with a zone such as 2026-11-25T08:00:00Z`,
        at,
      );
    }
    try {
      return parseTimeExpression(value, this.#nowMs ?? 0, what);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'TIME_INVALID') throw error;
      const hint = error.hint === undefined ? '' : ` ${error.hint}`;
      throw this.#error('QUERY_VALUE_INVALID', `${error.message}${hint}`, at, error);
    }
  }

  #resolve(name: string, at: number): SearchField {
    const lower = name.toLowerCase();
    const known = (SEARCH_FIELDS as readonly string[]).includes(lower) ? (lower as SearchField) : FIELD_ALIASES[lower];
    if (known !== undefined) return known;
    const error = this.#error('QUERY_FIELD_UNKNOWN', `there is no field "${name}"`, at);
    throw new AppError('QUERY_FIELD_UNKNOWN', {
      message: `${error.message}. Valid fields: ${SEARCH_FIELDS.join(', ')} (also ${Object.keys(FIELD_ALIASES).join(', ')}).`,
      hint: error.hint ?? '',
      details: { ...error.details, field: name, validFields: [...SEARCH_FIELDS] },
    });
  }

  // `\uXXXX` (a UTF-16 unit; a pair for a character beyond U+FFFF, as visibleText writes one) and `\u{X…}` (a code
  // point) stand for any character, so a value holding a bidi control or an invisible character can be written
  // without putting that character into the query, where it would make the query read as something else. Any
  // other `\` keeps the character after it. `at` is where `raw` starts in the query, for the column of an error.
  #unescape(raw: string, at: number): { readonly value: string; readonly escapedStar: boolean } {
    let value = '';
    let escapedStar = false;
    let index = 0;
    while (index < raw.length) {
      const char = raw[index] ?? '';
      if (char !== '\\' || index + 1 >= raw.length) {
        value += char;
        index += 1;
        continue;
      }
      const next = raw[index + 1] ?? '';
      if (next !== 'u') {
        escapedStar ||= next === '*';
        value += next;
        index += 2;
        continue;
      }
      const escape = unicodeEscapeAt(raw, index);
      if (escape === null) throw this.#escapeError(raw, index, at);
      let decoded = escape.code;
      let length = escape.length;
      if (escape.unit && isLowSurrogate(decoded)) {
        throw this.#error(
          'QUERY_SYNTAX',
          `"${raw.slice(index, index + length)}" is the second half of a UTF-16 surrogate pair without its first half; write the character as \\u{…} with its code point`,
          at + index,
        );
      }
      if (escape.unit && isHighSurrogate(decoded)) {
        const low = unicodeEscapeAt(raw, index + length);
        if (low === null || !low.unit || !isLowSurrogate(low.code)) {
          throw this.#error(
            'QUERY_SYNTAX',
            `"${raw.slice(index, index + length)}" is the first half of a UTF-16 surrogate pair and must be followed by its second half (\\udc00 to \\udfff); or write the character as \\u{…} with its code point`,
            at + index,
          );
        }
        decoded = 0x10000 + ((decoded - 0xd800) << 10) + (low.code - 0xdc00);
        length += low.length;
      }
      const text = String.fromCodePoint(decoded);
      escapedStar ||= text === '*';
      value += text;
      index += length;
    }
    return { value, escapedStar };
  }

  #escapeError(raw: string, index: number, at: number): AppError {
    const rest = raw.slice(index);
    const braced = /^\\u\{([^}\\\s"]{0,8})(\}?)/.exec(rest);
    let what: string;
    if (braced === null) {
      const shown = /^\\u[^\\\s"]{0,4}/.exec(rest)?.[0] ?? '\\u';
      what = `"${shown}" is not a character escape: \\u takes four hex digits, as in \\u202e, or a code point in braces, as in \\u{1f600}; write \\\\ for a backslash`;
    } else if (/^[0-9a-f]{1,6}$/i.test(braced[1] ?? '') && braced[2] === '}') {
      what = `"${braced[0]}" is not a character: a code point is at most 10ffff and is not a surrogate (d800 to dfff)`;
    } else {
      what = `"${braced[0]}" is not a character escape: \\u{…} takes one to six hex digits and a closing }, as in \\u{1f600}`;
    }
    return this.#error('QUERY_SYNTAX', what, at + index);
  }

  #word(): string {
    const start = this.#at;
    this.#at = wordEnd(this.#text, start);
    return this.#text.slice(start, this.#at);
  }

  #operatorAt(at: number): Operator | null {
    OPERATOR.lastIndex = at;
    return (OPERATOR.exec(this.#text)?.[1] as Operator | undefined) ?? null;
  }

  #atEndOfTerm(): boolean {
    const char = this.#text[this.#at];
    return char === undefined || char === ')' || /\s/.test(char);
  }

  #skipSpace(): void {
    while (/\s/.test(this.#text[this.#at] ?? '')) this.#at += 1;
  }

  #error(code: ErrorCode, what: string, offset: number, cause?: unknown): AppError {
    return queryError(code, this.#text, offset, what, cause);
  }
}

// NOT is applied by the terms themselves; AND binds tighter than OR, so runs of AND are grouped first.
function precedence(operands: readonly SearchFilter[], operators: readonly ('and' | 'or')[]): SearchFilter {
  const groups: SearchFilter[] = [];
  let run: SearchFilter[] = [operands[0] as SearchFilter];
  for (const [index, operator] of operators.entries()) {
    const next = operands[index + 1] as SearchFilter;
    if (operator === 'and') {
      run.push(next);
    } else {
      groups.push(balanced('and', run, 0, run.length));
      run = [next];
    }
  }
  groups.push(balanced('and', run, 0, run.length));
  return balanced('or', groups, 0, groups.length);
}

// Splitting at the upper middle keeps a chain of three as ((a b) c), the shape a left-to-right reading gives.
function balanced(kind: 'and' | 'or', items: readonly SearchFilter[], from: number, to: number): SearchFilter {
  if (to - from === 1) return items[from] as SearchFilter;
  const middle = from + Math.ceil((to - from) / 2);
  return { kind, left: balanced(kind, items, from, middle), right: balanced(kind, items, middle, to) };
}

function isSign(char: string | undefined): boolean {
  return char === '-' || char === '+' || char === '!';
}

function wordEnd(text: string, from: number): number {
  let end = from;
  while (end < text.length && !WORD_END.test(text[end] ?? '')) end += text[end] === '\\' ? 2 : 1;
  return Math.min(end, text.length);
}

function unescapedIndexOf(word: string, char: string): number {
  for (let index = 0; index < word.length; index += word[index] === '\\' ? 2 : 1) {
    if (word[index] === char) return index;
  }
  return -1;
}

// The `\uXXXX` or `\u{X…}` escape at `index`, or null when the text there is not a well-formed one. `unit` is
// true for the four-digit form, which names a UTF-16 unit and so may be half of a surrogate pair.
function unicodeEscapeAt(
  text: string,
  index: number,
): { readonly code: number; readonly length: number; readonly unit: boolean } | null {
  const match = /^\\u(?:([0-9a-fA-F]{4})|\{([0-9a-fA-F]{1,6})\})/.exec(text.slice(index, index + 11));
  if (match === null) return null;
  if (match[1] !== undefined) return { code: Number.parseInt(match[1], 16), length: match[0].length, unit: true };
  const code = Number.parseInt(match[2] ?? '', 16);
  if (code > 0x10ffff || isHighSurrogate(code) || isLowSurrogate(code)) return null;
  return { code, length: match[0].length, unit: false };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function queryError(code: ErrorCode, text: string, offset: number, what: string, cause?: unknown): AppError {
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
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * A src_ip pattern as exact addresses and blocks read: addresses are stored canonical, so in lower case, and an
 * IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is that IPv4 host, so `203.0.113.*` finds it too.
 */
function srcIpPattern(typed: string): SearchFilter {
  const value = typed.toLowerCase();
  const term = (pattern: string): SearchFilter => ({ kind: 'term', field: 'src_ip', value: pattern, wildcard: true });
  if (!/^[\d.*]+$/.test(value) || value.startsWith('*')) return term(value);
  return { kind: 'or', left: term(value), right: term(`::ffff:${value}`) };
}
