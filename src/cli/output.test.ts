import { describe, expect, it } from 'vitest';
import { renderTable, truncate, visible, visibleLines } from './output.js';

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

describe('visible', () => {
  it('escapes controls, bidi and invisible characters so that text cannot drive a terminal or pass for other text', () => {
    const evil = 'evil \u001b]0;PWNED\u0007\u001b[2J\u001b[31mRED\u202eabc\nfake: line';
    expect(visible(evil)).toBe('evil \\u001b]0;PWNED\\u0007\\u001b[2J\\u001b[31mRED\\u202eabc\\u000afake: line');
    expect(visible('a\u200bb\u200fc\u061cd\ufeffe\u2060f\u2064g\u180eh\u009bi')).toBe(
      'a\\u200bb\\u200fc\\u061cd\\ufeffe\\u2060f\\u2064g\\u180eh\\u009bi',
    );
    expect(visible('👩‍💻 می‌خواهم')).toBe('👩‍💻 می‌خواهم');
  });

  it('keeps the line breaks of text the CLI composed, when asked', () => {
    expect(visibleLines('first\nsecond \u001b[2J')).toBe('first\nsecond \\u001b[2J');
  });
});
