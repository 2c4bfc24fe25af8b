import { describe, expect, it } from 'vitest';
import { renderTable, truncate } from './output.js';

describe('renderTable', () => {
  it('aligns columns by the columns a terminal draws, for wide and combining characters alike', () => {
    const table = renderTable(
      ['name', 'account'],
      [
        ['Zürich 東京 🚀', 'a'],
        ['plain', 'b'],
        ['e\u0301te\u0301', 'c'],
      ],
    );
    const lines = table.split('\n');
    // 'Zürich 東京 🚀' takes 14 columns: 6 + 1 + 4 + 1 + 2.
    expect(lines).toEqual([
      'NAME            ACCOUNT',
      'Zürich 東京 🚀  a',
      'plain           b',
      'e\u0301te\u0301             c',
    ]);
  });
});

describe('truncate', () => {
  it('cuts to a width in terminal columns, between whole characters, and marks the cut', () => {
    expect(truncate('alice@example.com', 40)).toBe('alice@example.com');
    expect(truncate('東京東京東京', 7)).toBe('東京東…');
    expect(truncate('👩‍👩‍👧‍👦👩‍👩‍👧‍👦👩‍👩‍👧‍👦', 5)).toBe('👩‍👩‍👧‍👦👩‍👩‍👧‍👦…');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });
});
