import { describe, expect, it } from 'vitest';
import { visibleText } from '../core/visible-text.js';
import { displayJson, displayText, formatTime } from './format.js';

describe('how the UI shows values and times', () => {
  it('shows bidi, control and invisible characters as escapes, the way the CLI prints them', () => {
    expect(displayText('\u202eevil right-to-left override')).toBe('\\u202eevil right-to-left override');
    expect(displayText('line\nbreak\ttab\u0000nul\u001b[31m')).toBe('line\\u000abreak\\u0009tab\\u0000nul\\u001b[31m');
    expect(displayText('a\u2066b\u2069c\u200fd\u200be\ufeff')).toBe('a\\u2066b\\u2069c\\u200fd\\u200be\\ufeff');
    expect(displayText('lone \ud800 high and \udc00 low')).toBe('lone \\ud800 high and \\udc00 low');
  });

  it('escapes format and invisible characters the same way as the CLI, from one definition', () => {
    expect(displayText('a\u180eb\u2061c\u00add\u200ce\u200df')).toBe('a\\u180eb\\u2061c\\u00add\u200ce\u200df');
    const sample = 'x\u{e0041}\u061c\u2064\u206a\ufff9🏴󠁧󠁢󠁳󠁣󠁴󠁿\u2028\ud800';
    expect(displayText(sample)).toBe(visibleText(sample));
    expect(displayText(sample)).toBe('x\\udb40\\udc41\\u061c\\u2064\\u206a\\ufff9🏴󠁧󠁢󠁳󠁣󠁴󠁿\\u2028\\ud800');
  });

  it('leaves ordinary text, other scripts, emoji and markup as they are', () => {
    for (const text of [
      'alice@example.com',
      '<img src=x onerror=alert(1)>',
      'Zoë Müller',
      'משתמש',
      '👩‍💻 dev',
      'می‌خواهم',
    ]) {
      expect(displayText(text)).toBe(text);
    }
  });

  it('escapes JSON for reading without breaking it', () => {
    const value = { app: '\u202eevil', note: 'a\u2028b', nested: [{ user: 'x\u0085y' }] };
    const text = displayJson(value);
    expect(text).not.toMatch(/[\u202e\u2028\u0085]/);
    expect(text).toContain('\\u202eevil');
    expect(text.split('\n').length).toBeGreaterThan(3);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('writes every time one way, with the zone once where asked, and never throws', () => {
    expect(formatTime('2026-11-27T12:01:40.123Z')).toBe('2026-11-27 12:01:40 UTC');
    expect(formatTime('2026-11-27T13:01:40+01:00', { zone: false })).toBe('2026-11-27 12:01:40');
    expect(formatTime(Date.UTC(2026, 10, 27, 12, 1, 40))).toBe('2026-11-27 12:01:40 UTC');
    expect(formatTime(-17_280_000_000_000_000)).toBe('out of range');
    expect(formatTime(Number.NaN)).toBe('—');
    expect(formatTime('-7d')).toBe('-7d');
    expect(formatTime('\u202egarbage')).toBe('\\u202egarbage');
  });
});
