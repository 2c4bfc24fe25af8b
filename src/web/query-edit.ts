// Edits of query text the Explore page makes for the analyst: adding a filter for a value, and completing the
// field name or value under the caret. The server parses the result with the same grammar as the CLI.

import { visibleText } from '../core/visible-text.js';

// Values made only of these characters need no quotes; anything else is quoted, so a value can never change
// the structure of the query around it.
const PLAIN_VALUE = /^[A-Za-z0-9@._+-]+$/;
const OPERATOR_WORDS = new Set(['AND', 'OR', 'NOT', 'TO']);

/**
 * `value` as one term of the query language: bare when that is safe, otherwise quoted with `\` escapes. A
 * character the UI shows as a `\u202e`-style escape (visibleText: controls, bidi, invisible characters) is
 * written as that escape, which the query language reads back, so the query bar shows what the rest of the UI
 * shows and a value cannot make the query around it read as something else.
 */
export function queryValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !OPERATOR_WORDS.has(value) && !/^[-+]/.test(value)) return value;
  // A lone surrogate cannot be stored: every flat field and every search value holds U+FFFD in its place (see
  // flatString), and the query language refuses a lone surrogate escape, so it is written as what it matches.
  const quoted = value.toWellFormed().replace(/[\\"]/g, (char) => `\\${char}`);
  return `"${visibleText(quoted)}"`;
}

/** `field:value` as a query clause, negated with NOT when asked. */
export function fieldClause(field: string, value: string, negate = false): string {
  return `${negate ? 'NOT ' : ''}${field}:${queryValue(value)}`;
}

/**
 * The query narrowed by one more clause. A query that may hold OR is put in parentheses first, so the new clause
 * narrows all of it rather than only its last alternative. The grammar takes OR right after a quote or a bracket
 * too, so any OR or || in the text counts: parentheses around a query without one change nothing.
 */
export function addFilter(query: string, field: string, value: string, negate: boolean): string {
  const clause = fieldClause(field, value, negate);
  const current = query.trim();
  if (current === '') return clause;
  const grouped = /OR|\|\|/.test(current) ? `(${current})` : current;
  return `${grouped} AND ${clause}`;
}

export type CompletionContext =
  | { readonly kind: 'field'; readonly prefix: string; readonly start: number; readonly end: number }
  | {
      readonly kind: 'value';
      readonly field: string;
      readonly prefix: string;
      readonly start: number;
      readonly end: number;
    };

/**
 * What the word under the caret is: the start of a field name, or a value after `field:`. `start`..`end` is the
 * text a completion replaces (the whole word, so completing in the middle of one does not leave half of it).
 * Null inside quotes opened earlier, in a range, or on an operator.
 */
export function completionContext(text: string, caret: number): CompletionContext | null {
  const before = text.slice(0, caret);
  if ((before.match(/"/g)?.length ?? 0) % 2 === 1 && !/[A-Za-z_][\w.]*:"[^"]*$/.test(before)) return null;
  if (/\[[^\]]*$/.test(before)) return null;
  const wordStart = before.search(/[^\s()]*$/);
  const afterWord = /^[^\s()]*/.exec(text.slice(caret))?.[0] ?? '';
  let start = wordStart;
  const end = caret + afterWord.length;
  let word = text.slice(start, caret);
  const sign = /^[-+!]/.exec(word)?.[0] ?? '';
  start += sign.length;
  word = word.slice(sign.length);
  const field = /^([A-Za-z_][\w.]*):(.*)$/s.exec(word);
  if (field !== null) {
    return { kind: 'value', field: field[1] ?? '', prefix: typedValue((field[2] ?? '').replace(/^"/, '')), start, end };
  }
  if (word === '' || OPERATOR_WORDS.has(word) || !/^[A-Za-z_][\w.]*$/.test(word)) {
    return word === '' ? { kind: 'field', prefix: '', start, end } : null;
  }
  return { kind: 'field', prefix: word, start, end };
}

// A value being typed as it reads, so it can be matched against suggestions: `\` escapes decoded, as the query
// language reads them, and an escape not yet typed to its end left out.
function typedValue(text: string): string {
  return text.replace(
    /\\u([0-9a-fA-F]{4})|\\u\{([0-9a-fA-F]{1,6})\}|\\u(?:\{[0-9a-fA-F]{0,6}|[0-9a-fA-F]{0,3})$|\\$|\\(.)/gs,
    (match, unit: string | undefined, point: string | undefined, kept: string | undefined) => {
      if (unit !== undefined) return String.fromCharCode(Number.parseInt(unit, 16));
      if (point !== undefined) {
        const code = Number.parseInt(point, 16);
        return code <= 0x10ffff ? String.fromCodePoint(code) : match;
      }
      return kept ?? '';
    },
  );
}

/** `text` with `start`..`end` replaced by `insert`, and where the caret goes: right after the insertion. */
export function applyCompletion(
  text: string,
  context: { readonly start: number; readonly end: number },
  insert: string,
): { readonly text: string; readonly caret: number } {
  const tail = text.slice(context.end);
  const spacer = insert.endsWith(':') || tail.startsWith(' ') || tail === '' ? '' : ' ';
  return { text: `${text.slice(0, context.start)}${insert}${spacer}${tail}`, caret: context.start + insert.length };
}
