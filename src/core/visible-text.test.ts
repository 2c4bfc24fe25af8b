import { describe, expect, it } from 'vitest';
import { visibleText } from './visible-text.js';

const escaped = (char: string): string =>
  Array.from({ length: char.length }, (_, index) => `\\u${char.charCodeAt(index).toString(16).padStart(4, '0')}`).join(
    '',
  );

describe('visibleText', () => {
  it('escapes controls, separators, bidi, format and invisible characters', () => {
    const hidden = [
      '\u0000',
      '\u0007',
      '\n',
      '\u001b',
      '\u007f',
      '\u0085',
      '\u009b',
      '\u00ad',
      '\u034f',
      '\u061c',
      '\u115f',
      '\u180e',
      '\u200b',
      '\u200e',
      '\u200f',
      '\u2028',
      '\u2029',
      '\u202a',
      '\u202e',
      '\u2060',
      '\u2061',
      '\u2064',
      '\u2066',
      '\u2069',
      '\u206a',
      '\u3164',
      '\ufe00',
      '\ufeff',
      '\ufff9',
      '\u{1d173}',
      '\u{e0041}',
      '\u{e0100}',
    ];
    for (const char of hidden) expect(visibleText(`a${char}b`), escaped(char)).toBe(`a${escaped(char)}b`);
  });

  it('writes a character beyond U+FFFF as its two UTF-16 halves, which JSON reads back as the character', () => {
    expect(visibleText('x\u{e0041}y')).toBe('x\\udb40\\udc41y');
    expect(JSON.parse(`"${visibleText('x\u{e0041}y')}"`)).toBe('x\u{e0041}y');
  });

  it('escapes lone surrogates', () => {
    expect(visibleText('lone \ud800 high and \udc00 low')).toBe('lone \\ud800 high and \\udc00 low');
  });

  it('leaves text, scripts, emoji sequences and flags as they are', () => {
    for (const text of [
      'alice@example.com',
      'Zoë Müller e\u0301',
      'משתמש',
      'می‌خواهم',
      '👩‍💻 dev',
      '❤️ ☺︎',
      '🏴󠁧󠁢󠁳󠁣󠁴󠁿',
      '東京 🚀',
      'a\u00a0b',
    ]) {
      expect(visibleText(text)).toBe(text);
    }
  });

  it('keeps line breaks only when asked, and nothing else', () => {
    expect(visibleText('one\ntwo\r\n')).toBe('one\\u000atwo\\u000d\\u000a');
    expect(visibleText('one\ntwo\r\n\u001b', { keepLineBreaks: true })).toBe('one\ntwo\\u000d\n\\u001b');
  });
});
