import { describe, expect, it } from 'vitest';
import { parseTimeExpression } from './time-expression.js';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');

describe('parseTimeExpression', () => {
  it.each([
    ['now', NOW],
    ['-24h', NOW - 86_400_000],
    ['-7d', NOW - 7 * 86_400_000],
    ['-15m', NOW - 900_000],
    ['2026-11-24T08:30:00Z', Date.parse('2026-11-24T08:30:00Z')],
    ['2026-11-24T10:30:00.250+02:00', Date.parse('2026-11-24T08:30:00.250Z')],
    ['2026-11-24', Date.parse('2026-11-24T00:00:00Z')],
  ])('reads %s', (text, expected) => {
    expect(parseTimeExpression(text, NOW, '--from')).toBe(expected);
  });

  it.each(['yesterday', '-24', '2026-11-24T08:30:00', '2026-13-45', ''])('rejects %j naming the flag', (text) => {
    expect(() => parseTimeExpression(text, NOW, '--from')).toThrow(/--from/);
  });
});
