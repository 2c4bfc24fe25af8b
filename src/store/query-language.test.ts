import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePostgres, TestSchemas } from '../../test/helpers/postgres.js';
import { AppError } from '../core/errors.js';
import type { NormalizedEvent } from '../core/event.js';
import { parseTimeExpression } from '../core/time-expression.js';
import { PostgresStore } from './postgres/store.js';
import { parseQuery } from './query-language.js';
import type { SearchField, SearchFilter } from './search-query.js';
import { SqliteStore } from './sqlite/store.js';
import { addFilter, queryValue } from '../web/query-edit.js';
import type { Store } from './store.js';

const t = (field: SearchField | null, value: string, wildcard = false): SearchFilter => ({
  kind: 'term',
  field,
  value,
  wildcard,
});

function failure(query: string, nowMs?: number): AppError {
  try {
    parseQuery(query, nowMs);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error(`expected "${query}" to be rejected`);
}

describe('parseQuery', () => {
  it('treats empty or blank text as match-all', () => {
    expect(parseQuery('')).toBeNull();
    expect(parseQuery('   \t ')).toBeNull();
  });

  it('parses the README example', () => {
    expect(parseQuery('user:alice@example.com AND outcome:failure')).toEqual({
      kind: 'and',
      left: t('user', 'alice@example.com'),
      right: t('outcome', 'failure'),
    });
  });

  it('reads activities and dataset names in any case, as the UI shows them (Logon), since both are stored lower-case', () => {
    expect(parseQuery('activity:Logon')).toEqual(t('activity', 'logon'));
    expect(parseQuery('dataset:ACCESS_REQUESTS')).toEqual(t('dataset', 'access_requests'));
    expect(parseQuery('activity:Log*')).toEqual({ kind: 'term', field: 'activity', value: 'log*', wildcard: true });
    // A NUL is searched as flat fields hold it, U+FFFD, on both stores.
    expect(parseQuery('app:"line\u0000break"')).toEqual(t('app', 'line\ufffdbreak'));
    // An escaped backslash before a * leaves the * a wildcard; an escaped * alone is an exact value.
    expect(parseQuery('user:back\\\\*')).toEqual(t('user', 'back\\*', true));
    expect(parseQuery('user:star\\*')).toEqual(t('user', 'star*'));
    // Both in one value cannot be told apart in the pattern: refused rather than matching more than asked.
    expect(failure('user:star\\**')).toMatchObject({ code: 'QUERY_VALUE_INVALID' });
    // Ids and source names stay as typed.
    expect(parseQuery('ray_id:ABC')).toEqual(t('ray_id', 'ABC'));
    expect(parseQuery('source:SIM')).toEqual(t('source', 'SIM'));
  });

  it('ANDs adjacent terms and keeps bare words field-less', () => {
    expect(parseQuery('alice wiki')).toEqual({ kind: 'and', left: t(null, 'alice'), right: t(null, 'wiki') });
  });

  it('gives AND precedence over OR', () => {
    expect(parseQuery('a AND b OR c')).toEqual({
      kind: 'or',
      left: { kind: 'and', left: t(null, 'a'), right: t(null, 'b') },
      right: t(null, 'c'),
    });
    expect(parseQuery('a OR b AND c')).toEqual({
      kind: 'or',
      left: t(null, 'a'),
      right: { kind: 'and', left: t(null, 'b'), right: t(null, 'c') },
    });
    expect(parseQuery('a OR b c')).toEqual({
      kind: 'or',
      left: t(null, 'a'),
      right: { kind: 'and', left: t(null, 'b'), right: t(null, 'c') },
    });
  });

  it('respects parentheses', () => {
    expect(parseQuery('(a OR b) AND c')).toEqual({
      kind: 'and',
      left: { kind: 'or', left: t(null, 'a'), right: t(null, 'b') },
      right: t(null, 'c'),
    });
    expect(parseQuery('user:(alice@example.com OR bob@example.com)')).toEqual({
      kind: 'or',
      left: t('user', 'alice@example.com'),
      right: t('user', 'bob@example.com'),
    });
  });

  it('negates with NOT, AND NOT, a leading minus and on groups', () => {
    expect(parseQuery('NOT user:x')).toEqual({ kind: 'not', operand: t('user', 'x') });
    expect(parseQuery('-user:x')).toEqual({ kind: 'not', operand: t('user', 'x') });
    expect(parseQuery('a AND NOT b')).toEqual({
      kind: 'and',
      left: t(null, 'a'),
      right: { kind: 'not', operand: t(null, 'b') },
    });
    expect(parseQuery('a  AND  NOT b')).toEqual({
      kind: 'and',
      left: t(null, 'a'),
      right: { kind: 'not', operand: t(null, 'b') },
    });
    expect(parseQuery('outcome:failure -country:us')).toEqual({
      kind: 'and',
      left: t('outcome', 'failure'),
      right: { kind: 'not', operand: t('country', 'us') },
    });
    expect(parseQuery('NOT (a OR b)')).toEqual({
      kind: 'not',
      operand: { kind: 'or', left: t(null, 'a'), right: t(null, 'b') },
    });
    expect(parseQuery('-app:(wiki OR mail)')).toEqual({
      kind: 'not',
      operand: { kind: 'or', left: t('app', 'wiki'), right: t('app', 'mail') },
    });
  });

  it('reads quoted values literally and * as a wildcard', () => {
    expect(parseQuery('app:"Payroll Portal"')).toEqual(t('app', 'Payroll Portal'));
    expect(parseQuery('user:alice*')).toEqual(t('user', 'alice*', true));
    expect(parseQuery('user:"alice*"')).toEqual(t('user', 'alice*'));
    expect(parseQuery('*example.com')).toEqual(t(null, '*example.com', true));
  });

  it('maps friendly aliases to fields, case-insensitively', () => {
    expect(parseQuery('user.email:a@example.com')).toEqual(t('user', 'a@example.com'));
    expect(parseQuery('email:a@example.com')).toEqual(t('user', 'a@example.com'));
    expect(parseQuery('ip:192.0.2.1')).toEqual(t('src_ip', '192.0.2.1'));
    expect(parseQuery('src_endpoint.ip:192.0.2.1')).toEqual(t('src_ip', '192.0.2.1'));
    expect(parseQuery('status:failure')).toEqual(t('outcome', 'failure'));
    expect(parseQuery('application:wiki')).toEqual(t('app', 'wiki'));
    expect(parseQuery('connection:okta')).toEqual(t('idp', 'okta'));
    expect(parseQuery('action:login')).toEqual(t('activity', 'login'));
    expect(parseQuery('USER:x')).toEqual(t('user', 'x'));
  });

  it('normalises outcomes and accepts allowed/denied', () => {
    expect(parseQuery('outcome:SUCCESS')).toEqual(t('outcome', 'success'));
    expect(parseQuery('outcome:allowed')).toEqual(t('outcome', 'success'));
    expect(parseQuery('outcome:denied')).toEqual(t('outcome', 'failure'));
    const error = failure('outcome:maybe');
    expect(error.code).toBe('QUERY_VALUE_INVALID');
    expect(error.message).toMatch(/"maybe" is not an outcome/);
  });

  it('reads IPv4 and IPv6 CIDR blocks and addresses without quotes', () => {
    expect(parseQuery('src_ip:10.0.0.0/8')).toEqual({
      kind: 'cidr',
      field: 'src_ip',
      version: 4,
      start: '10.0.0.0',
      end: '10.255.255.255',
    });
    expect(parseQuery('src_ip:2001:db8::/32')).toEqual({
      kind: 'cidr',
      field: 'src_ip',
      version: 6,
      start: '2001:db8::',
      end: '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
    });
    expect(parseQuery('ip:"192.0.2.0/25"')).toEqual({
      kind: 'cidr',
      field: 'src_ip',
      version: 4,
      start: '192.0.2.0',
      end: '192.0.2.127',
    });
    expect(parseQuery('src_ip:2001:db8::1')).toEqual(t('src_ip', '2001:db8::1'));
    expect(parseQuery('fe80::1')).toEqual(t(null, 'fe80::1'));
    // An address that begins with its colons is a value too, not a field name left out.
    expect(parseQuery('::1')).toEqual(t(null, '::1'));
    expect(parseQuery('::ffff:10.1.2.3')).toEqual(t(null, '::ffff:10.1.2.3'));
    expect(parseQuery('::1/128')).toMatchObject({ kind: 'cidr', field: 'src_ip', start: '::1', end: '::1' });
    expect(failure(':x').message).toContain('unexpected ":"');
    expect(parseQuery('10.0.0.0/8')).toEqual({
      kind: 'cidr',
      field: 'src_ip',
      version: 4,
      start: '10.0.0.0',
      end: '10.255.255.255',
    });
    expect(parseQuery('-src_ip:10.0.0.0/8 AND user:x')).toEqual({
      kind: 'and',
      left: {
        kind: 'not',
        operand: { kind: 'cidr', field: 'src_ip', version: 4, start: '10.0.0.0', end: '10.255.255.255' },
      },
      right: t('user', 'x'),
    });
    expect(parseQuery('src_ip:(10.0.0.0/8 OR 2001:db8::/32)')).toMatchObject({
      kind: 'or',
      left: { kind: 'cidr', version: 4 },
      right: { kind: 'cidr', version: 6 },
    });
  });

  it('rejects bad addresses and blocks', () => {
    for (const query of ['src_ip:10.0.0.0/33', 'src_ip:300.1.1.1', 'src_ip:2001:db8::/129', 'ip:nope']) {
      expect(failure(query).code, query).toBe('QUERY_VALUE_INVALID');
    }
  });

  it('parses time ranges into epoch milliseconds', () => {
    expect(parseQuery('time:[2024-01-01T00:00:00Z TO *]')).toEqual({
      kind: 'range',
      field: 'time',
      min: Date.UTC(2024, 0, 1),
      max: null,
      minInclusive: true,
      maxInclusive: true,
    });
    expect(parseQuery('time:{2024-01-01 TO 2024-01-02T00:00:00Z}')).toEqual({
      kind: 'range',
      field: 'time',
      min: Date.UTC(2024, 0, 1),
      max: 1704153600000,
      minInclusive: false,
      maxInclusive: false,
    });
    expect(parseQuery('user:x AND time:[* TO 2024-02-01T00:00:00+01:00]')).toMatchObject({
      kind: 'and',
      right: { kind: 'range', min: null, max: Date.UTC(2024, 0, 31, 23) },
    });
    const error = failure('time:[yesterday TO *]');
    expect(error.code).toBe('QUERY_VALUE_INVALID');
    expect(error.message).toMatch(/"yesterday" is not a time/);
  });

  it('reads now and times relative to it in a time range, as --from does, when it is told the time', () => {
    const nowMs = Date.UTC(2026, 10, 25, 12);
    expect(parseQuery('dataset:(gateway OR policies) AND time:[-7d TO now]', nowMs)).toMatchObject({
      kind: 'and',
      right: { kind: 'range', field: 'time', min: nowMs - 7 * 86_400_000, max: nowMs },
    });
    expect(parseQuery('time:{-90m TO +1h}', nowMs)).toMatchObject({
      min: nowMs - 90 * 60_000,
      max: nowMs + 3_600_000,
      minInclusive: false,
    });
    // Parsed without a time, as a stored filter is, a relative bound has nothing to be relative to.
    expect(failure('time:[-7d TO now]').message).toMatch(/column 7: the start of the range "-7d" is relative to now/);
  });

  it('names an unknown field and lists the valid ones', () => {
    const error = failure('usr:alice');
    expect(error.code).toBe('QUERY_FIELD_UNKNOWN');
    expect(error.message).toMatch(/"usr"/);
    expect(error.message).toMatch(/user, src_ip/);
    expect(error.message).toMatch(/column 1/);
  });

  it('points at the column of a syntax error with a caret line', () => {
    const error = failure('outcome:failure AND user:');
    expect(error.code).toBe('QUERY_SYNTAX');
    expect(error.message).toBe('Query does not parse at column 26: expected a value after "user:"');
    expect(error.hint).toBe('outcome:failure AND user:\n                         ^');
    expect(error.details).toMatchObject({ column: 26 });
  });

  it('keeps columns in the user text around addresses and blocks', () => {
    const error = failure('src_ip:2001:db8::/32 AND (user:x');
    expect(error.code).toBe('QUERY_SYNTAX');
    expect(error.message).toMatch(/column 33: a "\(" is not closed/);
    const unknown = failure('src_ip:10.0.0.0/8 bogus:1');
    expect(unknown.code).toBe('QUERY_FIELD_UNKNOWN');
    expect(unknown.message).toMatch(/column 19/);
  });

  it('explains other syntax errors', () => {
    expect(failure('user:"alice').message).toMatch(/quoted value is not closed/);
    expect(failure('a AND').message).toMatch(/expected a term after "AND"/);
    expect(failure('a)').message).toMatch(/column 2: this "\)" has no matching "\("/);
    expect(failure('user:/al.*/').message).toMatch(/regular expressions/);
    expect(failure('user:alice~').message).toMatch(/not supported/);
    expect(failure('OR').code).toBe('QUERY_SYNTAX');
    expect(failure('a AND OR b').message).toBe(
      'Query does not parse at column 7: expected a term between "AND" and "OR"',
    );
    expect(failure('NOT NOT a').code).toBe('QUERY_SYNTAX');
    expect(failure('(a OR )').message).toMatch(/column 7: expected a term after "OR"/);
    expect(failure('user:alice AND NOT').message).toMatch(/expected a term after "NOT"/);
  });

  it('requires digits for class_uid', () => {
    expect(parseQuery('class_uid:3002')).toEqual(t('class_uid', '3002'));
    expect(failure('class_uid:abc').code).toBe('QUERY_VALUE_INVALID');
  });
});

// How many levels deep the tree is, counted without recursion so that a degenerate tree cannot overflow.
function treeDepth(filter: SearchFilter): number {
  let deepest = 0;
  const pending: [SearchFilter, number][] = [[filter, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    deepest = Math.max(deepest, depth);
    if (node.kind === 'and' || node.kind === 'or') pending.push([node.left, depth + 1], [node.right, depth + 1]);
    if (node.kind === 'not') pending.push([node.operand, depth + 1]);
  }
  return deepest;
}

function leaves(filter: SearchFilter): SearchFilter[] {
  const found: SearchFilter[] = [];
  const pending: SearchFilter[] = [filter];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.kind === 'and' || next.kind === 'or') pending.push(next.right, next.left);
    else found.push(next);
  }
  return found;
}

// 10,000 documentation addresses, none of them an address of the events below.
const DECOYS = Array.from({ length: 10_000 }, (_, index) => `2001:db8::${index.toString(16)}`);

describe('parseQuery character escapes', () => {
  it('reads \\uXXXX and \\u{X…} as the character they name, alongside \\" and \\\\', () => {
    expect(parseQuery('user:"\\u202eevil\\u202c-admin@example.com"')).toEqual(
      t('user', '\u202eevil\u202c-admin@example.com'),
    );
    expect(parseQuery('app:"a\\u{200B}b \\"q\\" \\\\ \\u{1F600}"')).toEqual(t('app', 'a\u200bb "q" \\ \u{1f600}'));
    // A character beyond U+FFFF as the two UTF-16 halves the UI shows it as.
    expect(parseQuery('app:"\\ud83d\\ude00"')).toEqual(t('app', '\u{1f600}'));
    // The same escapes in a bare value, also beside wildcards.
    expect(parseQuery('idp:ok\\u00adta')).toEqual(t('idp', 'ok\u00adta'));
    expect(parseQuery('user:*\\u202e*')).toEqual(t('user', '*\u202e*', true));
    expect(parseQuery('\\u0041dmin')).toEqual(t(null, 'Admin'));
    // An escaped NUL is searched as a typed one: U+FFFD, as flat fields hold it.
    expect(parseQuery('app:"a\\u0000b"')).toEqual(t('app', 'a\ufffdb'));
    // A backslash before any other character keeps that character, as before.
    expect(parseQuery('app:"\\x\\n"')).toEqual(t('app', 'xn'));
  });

  it('refuses an escaped * beside a wildcard, written either way', () => {
    expect(parseQuery('user:"star\\u002a"')).toEqual(t('user', 'star*'));
    expect(parseQuery('user:star\\u{2a}')).toEqual(t('user', 'star*'));
    expect(failure('user:star\\u002a*')).toMatchObject({ code: 'QUERY_VALUE_INVALID' });
  });

  it('refuses an escape that names no character, at its column', () => {
    const cases: readonly (readonly [string, string])[] = [
      [
        'user:"\\uZZ"',
        'Query does not parse at column 7: "\\uZZ" is not a character escape: \\u takes four hex digits, as in \\u202e, or a code point in braces, as in \\u{1f600}; write \\\\ for a backslash',
      ],
      ['idp:okta user:a\\u20', 'Query does not parse at column 16: "\\u20" is not a character escape'],
      ['app:"ab\\u"', 'Query does not parse at column 8: "\\u" is not a character escape'],
      [
        'app:"\\u{110000}"',
        'Query does not parse at column 6: "\\u{110000}" is not a character: a code point is at most 10ffff and is not a surrogate (d800 to dfff)',
      ],
      ['app:"\\u{d800}"', 'Query does not parse at column 6: "\\u{d800}" is not a character'],
      [
        'app:"x\\u{12"',
        'Query does not parse at column 7: "\\u{12" is not a character escape: \\u{…} takes one to six hex digits and a closing }, as in \\u{1f600}',
      ],
      ['app:"\\u{}"', 'Query does not parse at column 6: "\\u{}" is not a character escape: \\u{…} takes'],
      [
        'app:"a\\ud83d"',
        'Query does not parse at column 7: "\\ud83d" is the first half of a UTF-16 surrogate pair and must be followed by its second half (\\udc00 to \\udfff); or write the character as \\u{…} with its code point',
      ],
      ['app:"\\ud83d\\u0041"', 'Query does not parse at column 6: "\\ud83d" is the first half'],
      [
        'user:a OR app:\\ude00',
        'Query does not parse at column 15: "\\ude00" is the second half of a UTF-16 surrogate pair without its first half',
      ],
    ];
    for (const [query, message] of cases) {
      const error = failure(query);
      expect(error.code, query).toBe('QUERY_SYNTAX');
      expect(error.message.startsWith(message), `${query}: ${error.message}`).toBe(true);
    }
  });
});

describe('parseQuery on long and deep queries', () => {
  it('reads an OR list of 10,000 terms into a tree of logarithmic depth, in order', () => {
    for (const query of [
      DECOYS.map((address) => `src_ip:${address}`).join(' OR '),
      `src_ip:(${DECOYS.join(' OR ')})`,
      DECOYS.map((address) => `src_ip:${address}`).join('\n'),
    ]) {
      const filter = parseQuery(query);
      if (filter === null) throw new Error('expected a filter');
      expect(treeDepth(filter)).toBeLessThanOrEqual(15);
      expect(leaves(filter)).toEqual(DECOYS.map((address) => t('src_ip', address)));
    }
  });

  it('keeps AND before OR in a long chain', () => {
    const filter = parseQuery(Array.from({ length: 2000 }, (_, index) => `a${index} AND b${index}`).join(' OR '));
    if (filter === null || filter.kind !== 'or') throw new Error('expected an OR');
    expect(treeDepth(filter)).toBeLessThanOrEqual(13);
    expect(leaves(filter)).toHaveLength(4000);
    expect(parseQuery('a OR b c d OR e')).toEqual({
      kind: 'or',
      left: {
        kind: 'or',
        left: t(null, 'a'),
        right: { kind: 'and', left: { kind: 'and', left: t(null, 'b'), right: t(null, 'c') }, right: t(null, 'd') },
      },
      right: t(null, 'e'),
    });
  });

  it('refuses parentheses nested too deep, at the first one too many, naming the limit', () => {
    expect(parseQuery(`${'('.repeat(100)}user:x${')'.repeat(100)}`)).toEqual(t('user', 'x'));
    for (const query of [`${'('.repeat(3000)}a${')'.repeat(3000)}`, `${'NOT ('.repeat(101)}a${')'.repeat(101)}`]) {
      const error = failure(query);
      expect(error.code).toBe('QUERY_SYNTAX');
      expect(error.message).toMatch(
        /^Query does not parse at column \d+: parentheses nest too deep here: at most 100 levels/,
      );
    }
    expect(failure(`${'('.repeat(3000)}a${')'.repeat(3000)}`).details).toMatchObject({ column: 101 });
    expect(failure(`${'NOT ('.repeat(101)}a${')'.repeat(101)}`).details).toMatchObject({ column: 505 });
  });
});

describe('parseQuery refusals that prevent silent misreadings', () => {
  it('refuses a wildcard value longer than a store can match, at its column', () => {
    expect(parseQuery(`user:${'a'.repeat(9_999)}*`)).toEqual(t('user', `${'a'.repeat(9_999)}*`, true));
    const error = failure(`outcome:failure user:${'a'.repeat(10_000)}*`);
    expect(error.code).toBe('QUERY_VALUE_INVALID');
    expect(error.message).toBe(
      'Invalid value at column 22: a value with * may be at most 10000 characters long; this one has 10001',
    );
  });

  it('refuses and, or and not in lowercase between terms, at their column', () => {
    const error = failure('outcome:failure and country:DE');
    expect(error.code).toBe('QUERY_SYNTAX');
    expect(error.message).toBe(
      'Query does not parse at column 17: "and" is not an operator: write AND, OR and NOT in capitals, or quote "and" to search for the word',
    );
    expect(error.hint).toBe('outcome:failure and country:DE\n                ^');
    expect(failure('user:a Or user:b').message).toMatch(/^Query does not parse at column 8: "Or" is not an operator/);
    expect(failure('not user:x').message).toMatch(/column 1: "not" is not an operator/);
    expect(failure('user:(a or b)').message).toMatch(/column 9: "or" is not an operator/);
  });

  it('still searches and, or and not when quoted or as a field value, and words that begin with them', () => {
    expect(parseQuery('"and"')).toEqual(t(null, 'and'));
    expect(parseQuery('user:andy')).toEqual(t('user', 'andy'));
    expect(parseQuery('user:and')).toEqual(t('user', 'and'));
    expect(parseQuery('user:AND')).toEqual(t('user', 'and'));
    expect(parseQuery('android OR ornate')).toEqual({ kind: 'or', left: t(null, 'android'), right: t(null, 'ornate') });
  });

  it('refuses a sign before a field value, pointing at it, instead of excluding the value', () => {
    const error = failure('outcome:-failure');
    expect(error.code).toBe('QUERY_SYNTAX');
    expect(error.message).toBe(
      'Query does not parse at column 9: "-" before a value does not exclude it; to exclude, write -outcome:failure or NOT outcome:failure; to search for a value that begins with "-", quote it: outcome:"-failure"',
    );
    expect(failure('time:-1h').message).toBe(
      'Query does not parse at column 6: time:-1h is not a period: a time is one instant; for the last 1h, write time:[-1h TO now], or set the period to it (--from -1h in the CLI)',
    );
    expect(failure('user:-minus@example.com').details).toMatchObject({ column: 6 });
    expect(failure('country:!DE').message).toMatch(/column 9: "!" before a value does not exclude it; .* -country:DE/);
    expect(failure('user: -x').details).toMatchObject({ column: 7 });
    expect(failure('user:+x').message).toMatch(
      /column 6: "\+" before a value is not an operator; write user:x, or .* user:"\+x"/,
    );
  });

  it('keeps excluding with a sign or NOT before the field, and searches a quoted value that begins with a sign', () => {
    const notFailure = { kind: 'not', operand: t('outcome', 'failure') };
    expect(parseQuery('-outcome:failure')).toEqual(notFailure);
    expect(parseQuery('!outcome:failure')).toEqual(notFailure);
    expect(parseQuery('NOT outcome:failure')).toEqual(notFailure);
    expect(parseQuery('-user:(a OR b)')).toEqual({
      kind: 'not',
      operand: { kind: 'or', left: t('user', 'a'), right: t('user', 'b') },
    });
    expect(parseQuery('user:"-minus@example.com"')).toEqual(t('user', '-minus@example.com'));
  });
});

describe('parseQuery ranges', () => {
  const nowMs = Date.UTC(2026, 10, 25, 12);

  it('points at the bound that is wrong, not at the field', () => {
    const time = failure('outcome:failure AND time:[-1d TO tomorrow]', nowMs);
    expect(time.code).toBe('QUERY_VALUE_INVALID');
    expect(time.details).toMatchObject({ column: 34 });
    expect(time.hint).toBe(`outcome:failure AND time:[-1d TO tomorrow]\n${' '.repeat(33)}^`);
    expect(failure('src_ip:[1.2.3.4 TO abc]').message).toBe('Invalid value at column 20: "abc" is not an IP address');
    expect(failure('src_ip:[abc TO 1.2.3.4]').details).toMatchObject({ column: 9 });
    expect(failure('class_uid:[3000 TO x]').details).toMatchObject({ column: 20 });
    expect(failure('time:[  yesterday TO *]').details).toMatchObject({ column: 9 });
    expect(failure('time:[-1d to now]', nowMs).message).toMatch(/^Query does not parse at column 11: expected "TO"/);
  });

  it('reads a bound as --from reads a time, and refuses what --from refuses with its message', () => {
    for (const bound of ['2026-11-25T00:00:00', '1704153600000', '2026-11-25T08:00', 'yesterday']) {
      const error = failure(`time:[${bound} TO *]`, nowMs);
      expect(error.code, bound).toBe('QUERY_VALUE_INVALID');
      let expected = '';
      try {
        parseTimeExpression(bound, nowMs, 'the start of the range');
      } catch (refusal) {
        if (!(refusal instanceof AppError)) throw refusal;
        expected = `${refusal.message} ${refusal.hint ?? ''}`;
      }
      expect(expected, bound).toMatch(/is not a time zerotrail understands\. Use now/);
      expect(error.message, bound).toBe(`Invalid value at column 7: ${expected}`);
    }
    expect(failure('time:1704153600000', nowMs).code).toBe('QUERY_VALUE_INVALID');
    expect(parseQuery('time:(2026-11-25T08:00:00Z OR 2026-11-25T09:00:00Z)', nowMs)).toEqual({
      kind: 'or',
      left: t('time', String(Date.UTC(2026, 10, 25, 8))),
      right: t('time', String(Date.UTC(2026, 10, 25, 9))),
    });
    expect(parseQuery('time:[2026-11-25 TO 2026-11-25T10:00:00+01:00]', nowMs)).toMatchObject({
      min: Date.UTC(2026, 10, 25),
      max: Date.UTC(2026, 10, 25, 9),
    });
  });

  it('reads a bare date as its whole UTC day, and refuses a time pattern instead of matching epoch digits', () => {
    const day = { kind: 'range', field: 'time', minInclusive: true, maxInclusive: false } as const;
    expect(parseQuery('time:2026-11-25')).toEqual({ ...day, min: Date.UTC(2026, 10, 25), max: Date.UTC(2026, 10, 26) });
    expect(parseQuery('NOT time:(2026-11-25 OR 2026-02-28)')).toEqual({
      kind: 'not',
      operand: {
        kind: 'or',
        left: { ...day, min: Date.UTC(2026, 10, 25), max: Date.UTC(2026, 10, 26) },
        right: { ...day, min: Date.UTC(2026, 1, 28), max: Date.UTC(2026, 2, 1) },
      },
    });
    for (const query of ['time:2026-11-25*', 'time:17955*', 'time:*']) {
      const error = failure(query, nowMs);
      expect(error.code, query).toBe('QUERY_VALUE_INVALID');
      expect(error.message, query).toMatch(
        /^Invalid value at column 6: time takes one instant or a range, not a \* pattern/,
      );
    }
  });

  it('refuses text glued to a closing quote or bracket, which would be ANDed in as a word', () => {
    expect(failure('user:"a"b').message).toBe(
      'Query does not parse at column 9: "b" follows the closing quote without a space; separate the next term with a space, or put the whole value inside the quotes',
    );
    expect(failure('time:[-1d TO now]x', nowMs).message).toMatch(
      /^Query does not parse at column 18: "x" follows the closing bracket/,
    );
    expect(failure('src_ip:"2001:db8::1"/32').message).toMatch(/column 21: "\/32" follows the closing quote/);
    expect(failure('"a""b"').message).toMatch(/column 4: """ follows the closing quote/);
    // Operators and parentheses may touch a quote or bracket, as the grammar has always read them.
    expect(parseQuery('idp:"okta"OR idp:github')).toMatchObject({ kind: 'or' });
    expect(parseQuery('(idp:"okta")')).toMatchObject({ kind: 'term', field: 'idp', value: 'okta' });
    expect(parseQuery('time:[-1d TO now]AND user:a', nowMs)).toMatchObject({ kind: 'and' });
  });

  it('says which part of a range is missing', () => {
    expect(failure('time:[-1d TO]', nowMs).message).toBe(
      'Query does not parse at column 13: expected the upper bound of the range',
    );
    expect(failure('time:[-1d]', nowMs).message).toBe(
      'Query does not parse at column 10: a range needs both bounds, as in time:[a TO b]; write * for an open end, as in time:[a TO *]',
    );
    expect(failure('time:[-1d TO}', nowMs).message).toMatch(/column 13: expected the upper bound/);
  });

  it('refuses a time range with no time in it, naming both bounds, at the range', () => {
    const error = failure('outcome:failure AND time:[now TO -1d]', nowMs);
    expect(error.code).toBe('QUERY_VALUE_INVALID');
    expect(error.message).toBe(
      'Invalid value at column 21: the range is empty: its start now (2026-11-25T12:00:00.000Z) is after its end -1d (2026-11-24T12:00:00.000Z); give the earlier time first',
    );
    expect(failure('time:{now TO now}', nowMs).message).toMatch(/column 1: the range is empty: .* now .* now/);
    expect(failure('class_uid:[6000 TO 3000]').code).toBe('QUERY_VALUE_INVALID');
    expect(parseQuery('time:[now TO now]', nowMs)).toMatchObject({ min: nowMs, max: nowMs });
    expect(parseQuery('time:[-1d TO now}', nowMs)).toMatchObject({ min: nowMs - 86_400_000, max: nowMs });
  });
});

const T0 = Date.UTC(2026, 0, 5);
const EVENT_COUNT = 200;

// Event i comes from 198.51.100.i, so which events a list of addresses matches is known in advance.
function event(index: number): NormalizedEvent {
  return {
    id: `${(T0 + index * 1000).toString(16).padStart(12, '0')}-list-${index}`,
    time: T0 + index * 1000,
    sourceName: 'cf-main',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: index % 3 === 0 ? 'failure' : 'success',
    user: `user${index}@example.com`,
    srcIp: `198.51.100.${index}`,
    country: 'us',
    app: 'Wiki',
    appUid: null,
    idp: 'okta',
    rayId: null,
    ocsf: {},
    raw: {},
  };
}

const ALL = Array.from({ length: EVENT_COUNT }, (_, index) => index);
const SEVENTHS = ALL.filter((index) => index % 7 === 0);
// The addresses of SEVENTHS spread through the decoys: 10,000 addresses in all.
const LIST = DECOYS.slice(SEVENTHS.length).flatMap((address, index) =>
  index % 300 === 0 && SEVENTHS[index / 300] !== undefined
    ? [`198.51.100.${SEVENTHS[index / 300]}`, address]
    : [address],
);

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-query-language-'));
const schemas = new TestSchemas('query_language');
const STORES: readonly (readonly [string, () => Promise<Store>])[] = [
  ['SQLite', () => SqliteStore.open({ path: join(dir, `${String(Date.now())}-${String(Math.random())}.db`) })],
  ['PostgreSQL', () => PostgresStore.open({ url: schemas.url() })],
];

beforeAll(async () => {
  await ensurePostgres();
});

afterAll(async () => {
  await schemas.dropAll();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(STORES)('long and deep queries on %s', (_name, open) => {
  let store: Store;
  const matching = async (filter: SearchFilter | null): Promise<number[]> => {
    const page = await store.search({ filter, order: 'asc' }, { limit: EVENT_COUNT + 1 });
    return page.events.map((found) => (found.time - T0) / 1000);
  };

  beforeAll(async () => {
    store = await open();
    await store.migrate();
    await store.append(
      ALL.map((index) => event(index)),
      { id: 'cf-main/access_requests', value: {} },
    );
  });

  afterAll(async () => {
    await store.close();
  });

  it('finds exactly the events of a list of 10,000 addresses, and of everything but them', async () => {
    expect(LIST).toHaveLength(10_000);
    const fielded = parseQuery(LIST.map((address) => `src_ip:${address}`).join(' OR '));
    expect(await matching(fielded)).toEqual(SEVENTHS);
    expect(await matching(parseQuery(`ip:(${LIST.join(' OR ')})`))).toEqual(SEVENTHS);
    expect(await matching(parseQuery(LIST.join(' OR ')))).toEqual(SEVENTHS);
    expect(await store.count({ filter: fielded })).toBe(SEVENTHS.length);
    const buckets = await store.histogram({ filter: fielded, fromMs: T0, toMs: T0 + 3_600_000, bucketMs: 60_000 });
    expect(buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(SEVENTHS.length);
    const others = ALL.filter((index) => index % 7 !== 0);
    expect(await matching(parseQuery(LIST.map((address) => `-src_ip:${address}`).join(' ')))).toEqual(others);
    expect(await matching(parseQuery(`NOT src_ip:(${LIST.join(' OR ')})`))).toEqual(others);
    const times = SEVENTHS.map((index) => new Date(T0 + index * 1000).toISOString());
    expect(await matching(parseQuery(`time:(${times.join(' OR ')})`))).toEqual(SEVENTHS);
    expect(await matching(parseQuery(times.map((time) => `-time:${time}`).join(' ')))).toEqual(others);
    const classes = Array.from({ length: 12 }, (_, index) => 3000 + index);
    expect(await matching(parseQuery(`class_uid:(${classes.join(' OR ')})`))).toEqual(ALL);
  });

  it('finds exactly the events of long lists compared one by one, and of lists nested a level per term', async () => {
    const fifths = ALL.filter((index) => index % 5 === 0);
    const blocks = DECOYS.slice(fifths.length, 1000).map((address) => `${address}/128`);
    blocks.splice(500, 0, ...fifths.map((index) => `198.51.100.${index}/32`));
    expect(await matching(parseQuery(blocks.map((block) => `src_ip:${block}`).join(' OR ')))).toEqual(fifths);
    // Built elsewhere than the parser, a filter may nest a level per term.
    const leftDeep = (terms: readonly string[]): SearchFilter =>
      terms.map((term) => parseQuery(term) as SearchFilter).reduce((left, right) => ({ kind: 'or', left, right }));
    expect(await matching(leftDeep(blocks.map((block) => `src_ip:${block}`)))).toEqual(fifths);
    expect(await matching(leftDeep(LIST.map((address) => `src_ip:${address}`)))).toEqual(SEVENTHS);
    const users = ALL.filter((index) => index % 9 === 0).map((index) => `user:user${index}@example.com*`);
    const mixed = parseQuery([...blocks.slice(0, 700).map((block) => `src_ip:${block}`), ...users].join(' OR '));
    expect(await matching(mixed)).toEqual(ALL.filter((index) => index % 5 === 0 || index % 9 === 0));
  });

  it('matches the longest wildcard value the query language takes', async () => {
    const longest = parseQuery(`activity:${'?['.repeat(4_999)}*`);
    expect(await matching(longest)).toEqual([]);
    expect(await matching(parseQuery(`user:user1${'*'.repeat(9_995)}`))).toEqual([
      1,
      ...ALL.filter((index) => String(index).startsWith('1') && index > 9),
    ]);
  });

  it('refuses a filter too large or too deep to run with QUERY_SYNTAX', async () => {
    const tooMany = parseQuery(
      DECOYS.slice(0, 2000)
        .map((address) => `src_ip:${address}/128`)
        .join(' OR '),
    );
    await expect(matching(tooMany)).rejects.toMatchObject({
      code: 'QUERY_SYNTAX',
      message:
        'The query is too large to run: it compares 4000 values one by one, and a search can compare at most 3000.',
    });
    let deep: SearchFilter = t('user', 'user1@example.com');
    for (let level = 0; level < 1000; level += 1) deep = { kind: 'not', operand: deep };
    await expect(matching(deep)).rejects.toMatchObject({
      code: 'QUERY_SYNTAX',
      message: expect.stringMatching(/^The query is too deeply nested to run/) as string,
    });
  });
});

const DISGUISED = '\u202eevil\u202c-admin@example.com';

describe.each(STORES)('values holding bidi and invisible characters on %s', (_name, open) => {
  let store: Store;
  const found = async (query: string): Promise<string[]> => {
    const page = await store.search({ filter: parseQuery(query), order: 'asc' }, { limit: 10 });
    return page.events.map((item) => item.id);
  };
  const withUser = (index: number, user: string, idp = 'okta'): NormalizedEvent => ({
    ...event(index),
    id: `disguise-${index}`,
    user,
    idp,
  });

  beforeAll(async () => {
    store = await open();
    await store.migrate();
    await store.append(
      [
        withUser(1, DISGUISED),
        // What the disguised value reads as, and what it holds without its controls.
        withUser(2, 'live-admin@example.com'),
        withUser(3, 'evil-admin@example.com'),
        withUser(4, 'bob@example.com', 'git\u200bhub'),
        withUser(5, 'carol@example.com', 'github'),
        withUser(6, 'dave@example.com', 'tag\u{e0041}'),
      ],
      { id: 'cf-main/access_requests', value: {} },
    );
  });

  afterAll(async () => {
    await store.close();
  });

  it('finds exactly the event with the real character from the escaped query the UI writes', async () => {
    const query = addFilter('outcome:success OR outcome:failure', 'user', DISGUISED, false);
    expect(query).toBe('(outcome:success OR outcome:failure) AND user:"\\u202eevil\\u202c-admin@example.com"');
    expect(await found(query)).toEqual(['disguise-1']);
    expect(await found(`NOT user:${queryValue(DISGUISED)} AND user:*admin*`)).toEqual(['disguise-2', 'disguise-3']);
    expect(await found('user:"\\u{202E}evil\\u{202C}-ADMIN@example.com"')).toEqual(['disguise-1']);
    expect(await found('user:*\\u202e*')).toEqual(['disguise-1']);
    expect(await found(`idp:${queryValue('git\u200bhub')}`)).toEqual(['disguise-4']);
    expect(queryValue('tag\u{e0041}')).toBe('"tag\\udb40\\udc41"');
    expect(await found(`idp:${queryValue('tag\u{e0041}')}`)).toEqual(['disguise-6']);
    expect(await found('idp:"tag\\u{e0041}"')).toEqual(['disguise-6']);
  });
});
