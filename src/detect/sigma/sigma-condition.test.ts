import { describe, expect, it } from 'vitest';
import { ConditionRefusal, isUsableIdentifier, parseSigmaCondition } from './sigma-condition.js';

const ref = (name: string, column: number) => ({ kind: 'ref', name, column });

function refusalOf(condition: string): ConditionRefusal {
  try {
    parseSigmaCondition(condition);
  } catch (error) {
    if (error instanceof ConditionRefusal) return error;
    throw error;
  }
  throw new Error(`"${condition}" parsed`);
}

describe('parseSigmaCondition', () => {
  it('parses a single identifier', () => {
    expect(parseSigmaCondition('selection')).toEqual({ expression: ref('selection', 1), aggregation: null });
  });

  it('binds not tighter than and, and tighter than or', () => {
    expect(parseSigmaCondition('a or b and not c').expression).toEqual({
      kind: 'or',
      operands: [ref('a', 1), { kind: 'and', operands: [ref('b', 6), { kind: 'not', operand: ref('c', 16) }] }],
    });
    expect(parseSigmaCondition('not a and b').expression).toEqual({
      kind: 'and',
      operands: [{ kind: 'not', operand: ref('a', 5) }, ref('b', 11)],
    });
  });

  it('flattens chains and honours parentheses', () => {
    expect(parseSigmaCondition('a and b and c').expression).toEqual({
      kind: 'and',
      operands: [ref('a', 1), ref('b', 7), ref('c', 13)],
    });
    expect(parseSigmaCondition('(a or b) and c').expression).toEqual({
      kind: 'and',
      operands: [{ kind: 'or', operands: [ref('a', 2), ref('b', 7)] }, ref('c', 14)],
    });
    expect(parseSigmaCondition('a and(b or c)').expression).toEqual({
      kind: 'and',
      operands: [ref('a', 1), { kind: 'or', operands: [ref('b', 7), ref('c', 12)] }],
    });
  });

  it('parses quantifiers over patterns and them', () => {
    expect(parseSigmaCondition('1 of selection_* and not all of filter_*').expression).toEqual({
      kind: 'and',
      operands: [
        { kind: 'of', quantifier: 'one', pattern: 'selection_*', column: 1 },
        { kind: 'not', operand: { kind: 'of', quantifier: 'all', pattern: 'filter_*', column: 26 } },
      ],
    });
    expect(parseSigmaCondition('all of them').expression).toEqual({
      kind: 'of',
      quantifier: 'all',
      pattern: 'them',
      column: 1,
    });
    expect(parseSigmaCondition('ANY OF Them').expression).toMatchObject({ quantifier: 'one', pattern: 'them' });
  });

  it('keeps identifiers case-sensitive and reads keywords in any case', () => {
    expect(parseSigmaCondition('Sel AND NOT sel').expression).toEqual({
      kind: 'and',
      operands: [ref('Sel', 1), { kind: 'not', operand: ref('sel', 13) }],
    });
  });

  it('parses the count aggregation', () => {
    expect(parseSigmaCondition('selection | count() by src_ip > 20')).toEqual({
      expression: ref('selection', 1),
      aggregation: { distinctField: null, groupBy: ['src_ip'], operator: '>', threshold: 20, columns: { src_ip: 24 } },
    });
    expect(parseSigmaCondition('a or b|count(user)by src_ip,app>=5').aggregation).toEqual({
      distinctField: 'user',
      groupBy: ['src_ip', 'app'],
      operator: '>=',
      threshold: 5,
      columns: { user: 14, src_ip: 22, app: 29 },
    });
    expect(parseSigmaCondition('a | COUNT ( ) < 3').aggregation).toMatchObject({
      groupBy: [],
      operator: '<',
      threshold: 3,
    });
    expect(parseSigmaCondition('a | count() by metadata.log_name = 0').aggregation).toMatchObject({
      groupBy: ['metadata.log_name'],
      operator: '==',
      threshold: 0,
    });
  });

  it('refuses with the feature and the column', () => {
    const cases: [string, string, number][] = [
      ['', 'condition', 1],
      ['a and', 'condition syntax', 6],
      ['(a', 'condition syntax', 3],
      ['a )', 'condition syntax', 3],
      ['a b', 'condition syntax', 3],
      ['3 of them', '3 of', 1],
      ['a | near b', 'near', 5],
      ['a | sum(x) > 1', 'aggregation sum', 5],
      ['a | avg(x) by y > 1', 'aggregation avg', 5],
      ['a | count(x) by > 1', 'aggregation', 17],
      ['a | count() by x != 1', 'aggregation !=', 18],
      ['a | count() by x > 1 extra', 'aggregation', 22],
      ['a | count', 'aggregation', 10],
      ['a | frequency() > 1', 'aggregation', 5],
    ];
    for (const [condition, feature, column] of cases) {
      const refusal = refusalOf(condition);
      expect([refusal.feature, refusal.column], condition).toEqual([feature, column]);
    }
  });
});

describe('isUsableIdentifier', () => {
  it('accepts Sigma identifier names and refuses keywords and patterns', () => {
    for (const name of ['selection', 'selection_1', 'filter-main', 'sel.a', '_helper', 'Keywords']) {
      expect(isUsableIdentifier(name), name).toBe(true);
    }
    for (const name of ['and', 'OR', 'not', 'of', 'them', 'all', 'any', '1', 'near', 'a b', 'a*', 'a(b', '']) {
      expect(isUsableIdentifier(name), name).toBe(false);
    }
  });
});
