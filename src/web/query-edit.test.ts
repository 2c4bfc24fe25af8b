import { describe, expect, it } from 'vitest';
import { parseQuery } from '../store/query-language.js';
import type { SearchFilter } from '../store/search-query.js';
import { visibleText } from '../core/visible-text.js';
import { addFilter, applyCompletion, completionContext, queryValue } from './query-edit.js';

const HOSTILE = [
  '<script>alert("x")</script>@example.com',
  'javascript:alert(1)',
  'back\\slash "quoted" \\"',
  'a AND b OR NOT c',
  '(x)',
  'NOT',
  '-leading',
  'tab\tand\nnewline',
  '*',
  'ünïcödé 名前',
  '\u202eevil\u202c-admin@example.com',
  'ad\u00admin \u200b\u2066x\u2069 \ufeff\u0007\u001b[31m\u0085',
  'tag\u{e0041} \\u202e',
  '👩\u200d💻 flag \u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}',
];

const term = (field: string, value: string): SearchFilter =>
  ({ kind: 'term', field, value, wildcard: false }) as SearchFilter;

describe('query edits made by the Explore page', () => {
  it('turns any value into one exact term of the query language', () => {
    // `app` keeps a value's case as typed (a user is lower-cased like the stored ones).
    for (const value of HOSTILE) {
      expect(parseQuery(`app:${queryValue(value)}`)).toEqual(term('app', value));
    }
    expect(queryValue('alice@example.com')).toBe('alice@example.com');
    expect(queryValue('2001:db8::1')).toBe('"2001:db8::1"');
    expect(parseQuery(`src_ip:${queryValue('2001:db8::1')}`)).toEqual(term('src_ip', '2001:db8::1'));
  });

  it('writes a character the UI shows as an escape as that escape, so the query reads as the value', () => {
    const disguised = '\u202eevil\u202c-admin@example.com';
    expect(queryValue(disguised)).toBe('"\\u202eevil\\u202c-admin@example.com"');
    expect(addFilter('idp:okta', 'user', disguised, false)).toBe(
      'idp:okta AND user:"\\u202eevil\\u202c-admin@example.com"',
    );
    expect(queryValue('git\u200bhub')).toBe('"git\\u200bhub"');
    expect(queryValue('a\tb\nc')).toBe('"a\\u0009b\\u000ac"');
    // A backslash in the value stays a literal backslash, even before a u.
    expect(queryValue('x\\u202e')).toBe('"x\\\\u202e"');
    // A lone surrogate is written as what every store holds and every search compares in its place.
    expect(queryValue('lone \ud800')).toBe('"lone \ufffd"');
    expect(parseQuery(`app:${queryValue('lone \ud800')}`)).toEqual(term('app', 'lone \ufffd'));
    for (const value of HOSTILE) {
      // The query text holds nothing the UI would show escaped: what it shows is what it is.
      const written = queryValue(value);
      expect(visibleText(written), value).toBe(written);
    }
  });

  it('adds a filter for or against a value to what the query already matches', () => {
    expect(addFilter('', 'user', 'bob@example.com', false)).toBe('user:bob@example.com');
    expect(addFilter('  ', 'country', 'DE', true)).toBe('NOT country:DE');
    expect(parseQuery(addFilter('outcome:failure', 'app', HOSTILE[0] ?? '', true))).toEqual({
      kind: 'and',
      left: term('outcome', 'failure'),
      right: { kind: 'not', operand: term('app', HOSTILE[0] ?? '') },
    });
    // Without the parentheses the new clause would only narrow the last alternative.
    expect(parseQuery(addFilter('user:a OR user:b', 'country', 'us', false))).toEqual({
      kind: 'and',
      left: { kind: 'or', left: term('user', 'a'), right: term('user', 'b') },
      right: term('country', 'us'),
    });
    // OR needs no space after a quote or before one, nor around a bracket.
    for (const query of ['idp:okta OR"github"', 'idp:"okta"OR idp:github', 'time:[-1d TO now]OR idp:github']) {
      const narrowed = parseQuery(addFilter(query, 'outcome', 'failure', false), Date.UTC(2026, 0, 1));
      expect(narrowed?.kind, query).toBe('and');
      expect(narrowed?.kind === 'and' ? narrowed.left.kind : null, query).toBe('or');
    }
  });

  it('finds the field name or value being typed at the caret', () => {
    expect(completionContext('us', 2)).toEqual({ kind: 'field', prefix: 'us', start: 0, end: 2 });
    expect(completionContext('outcome:failure AND -ap', 23)).toEqual({
      kind: 'field',
      prefix: 'ap',
      start: 21,
      end: 23,
    });
    expect(completionContext('(user:al', 8)).toEqual({ kind: 'value', field: 'user', prefix: 'al', start: 1, end: 8 });
    expect(completionContext('app:"Wi', 7)).toEqual({ kind: 'value', field: 'app', prefix: 'Wi', start: 0, end: 7 });
    expect(completionContext('user:a AND ', 11)).toEqual({ kind: 'field', prefix: '', start: 11, end: 11 });
    expect(completionContext('outcome:failure AND', 19)).toBeNull();
    expect(completionContext('time:[2026-11-01 TO no', 22)).toBeNull();
    expect(completionContext('"some words', 11)).toBeNull();
    // A value typed with escapes is matched against suggestions as it reads; an escape still being typed is left out.
    expect(completionContext('idp:"\\u202eev', 13)).toMatchObject({ kind: 'value', prefix: '\u202eev' });
    expect(completionContext('idp:"a\\u{1F600}\\"', 17)).toMatchObject({ prefix: 'a\u{1f600}"' });
    expect(completionContext('idp:"ab\\u20', 11)).toMatchObject({ prefix: 'ab' });
    expect(completionContext('idp:ab\\', 7)).toMatchObject({ prefix: 'ab' });
  });

  it('replaces the whole word under the caret with the completion', () => {
    const context = completionContext('outcome:failure AND usr OR x', 21);
    expect(context).not.toBeNull();
    expect(applyCompletion('outcome:failure AND usr OR x', context ?? { start: 0, end: 0 }, 'user:')).toEqual({
      text: 'outcome:failure AND user: OR x',
      caret: 25,
    });
    const value = completionContext('app:Wi', 6);
    expect(applyCompletion('app:Wi', value ?? { start: 0, end: 0 }, `app:${queryValue('Wiki (prod)')}`)).toEqual({
      text: 'app:"Wiki (prod)"',
      caret: 17,
    });
  });
});
