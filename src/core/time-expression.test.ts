import { describe, expect, it } from 'vitest';
import { parseTimeExpression, parseTimeRange } from './time-expression.js';

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

describe('parseTimeRange', () => {
  const names = { from: '--from', to: '--to' };

  it('reads either end, or both, or neither', () => {
    expect(parseTimeRange('-7d', '-1d', NOW, names)).toEqual({ fromMs: NOW - 7 * 86_400_000, toMs: NOW - 86_400_000 });
    expect(parseTimeRange('-7d', undefined, NOW, names)).toEqual({ fromMs: NOW - 7 * 86_400_000 });
    expect(parseTimeRange(undefined, 'now', NOW, names)).toEqual({ toMs: NOW });
    expect(parseTimeRange(undefined, undefined, NOW, names)).toEqual({});
  });

  it.each([
    ['-1d', '-7d'],
    ['now', 'now'],
  ])('refuses %s to %s, a period with no time in it, naming both ends', (from, to) => {
    let thrown: unknown;
    try {
      parseTimeRange(from, to, NOW, names);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: 'TIME_INVALID',
      message: expect.stringMatching(/^The period is empty: --from \(\S+Z\) is not before --to \(\S+Z\)\.$/) as string,
    });
  });
});
