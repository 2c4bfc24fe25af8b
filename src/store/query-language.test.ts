import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.js';
import { parseQuery } from './query-language.js';
import type { SearchField, SearchFilter } from './search-query.js';

const t = (field: SearchField | null, value: string, wildcard = false): SearchFilter => ({
  kind: 'term',
  field,
  value,
  wildcard,
});

function failure(query: string): AppError {
  try {
    parseQuery(query);
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
    expect(parseQuery('time:{2024-01-01 TO 1704153600000}')).toEqual({
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
    expect(failure('time:[-7d TO now]').message).toMatch(/"-7d" is not a time; .* now or a time relative to it/);
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

  it('keeps columns in the user text when values were quoted internally', () => {
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
