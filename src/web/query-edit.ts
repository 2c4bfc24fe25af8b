// Edits of query text the Explore page makes for the analyst: adding a filter for a value, and completing the
// field name or value under the caret. The server parses the result with the same grammar as the CLI.

// Values made only of these characters need no quotes; anything else is quoted, so a value can never change
// the structure of the query around it.
const PLAIN_VALUE = /^[A-Za-z0-9@._+-]+$/;
const OPERATOR_WORDS = new Set(['AND', 'OR', 'NOT', 'TO']);

/** `value` as one term of the query language: bare when that is safe, otherwise quoted with `\` escapes. */
export function queryValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !OPERATOR_WORDS.has(value) && !/^[-+]/.test(value)) return value;
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
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
    return { kind: 'value', field: field[1] ?? '', prefix: (field[2] ?? '').replace(/^"/, ''), start, end };
  }
  if (word === '' || OPERATOR_WORDS.has(word) || !/^[A-Za-z_][\w.]*$/.test(word)) {
    return word === '' ? { kind: 'field', prefix: '', start, end } : null;
  }
  return { kind: 'field', prefix: word, start, end };
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
