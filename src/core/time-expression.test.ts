import { describe, expect, it } from 'vitest';
import { rfc3339ToMs } from './rfc3339-to-ms.js';
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
    ['2028-02-29', Date.parse('2028-02-29T00:00:00Z')],
    ['2026-11-24T23:59:59.999-23:59', Date.parse('2026-11-25T23:58:59.999Z')],
    ['-3650d', NOW - 3650 * 86_400_000],
    // A leap second, where the collector stores an event stamped with one.
    ['2016-12-31T23:59:60Z', Date.parse('2017-01-01T00:00:00Z')],
    ['2016-12-31T23:59:60.250Z', Date.parse('2017-01-01T00:00:00.250Z')],
    ['2017-01-01T05:29:60+05:30', Date.parse('2017-01-01T00:00:00Z')],
  ])('reads %s', (text, expected) => {
    expect(parseTimeExpression(text, NOW, '--from')).toBe(expected);
  });

  it.each(['2016-12-31T23:59:60Z', '2016-12-31T23:59:60.999Z', '2016-12-31T18:59:60.5-05:00'])(
    'reads the leap second %s where the collector stores its event',
    (text) => {
      expect(parseTimeExpression(text, NOW, '--from')).toBe(rfc3339ToMs(text));
    },
  );

  it.each(['yesterday', '-24', '2026-11-24T08:30:00', '2026-13-45', ''])('rejects %j naming the flag', (text) => {
    expect(() => parseTimeExpression(text, NOW, '--from')).toThrow(/--from/);
  });

  // Date.parse takes each of these and rolls it over into another day than the one typed.
  it.each([
    '2026-02-30',
    '2026-02-29',
    '2026-04-31T10:00:00Z',
    '2026-11-25T24:00:00Z',
    '2026-11-25T23:60:00Z',
    '2026-11-25T23:00:61Z',
    '2026-11-25T23:00:00+24:00',
    '2026-00-10',
  ])('refuses %s, a time that does not exist, rather than the time it rolls over to', (text) => {
    expect(() => parseTimeExpression(text, NOW, '--from')).toThrowError(
      expect.objectContaining({
        code: 'TIME_INVALID',
        message: `--from "${text}" is not a time zerotrail understands.`,
      }) as Error,
    );
  });

  it.each(['-999999999d', '+999999999w'])('refuses %s, beyond the years a date holds, as TIME_INVALID', (text) => {
    expect(() => parseTimeExpression(text, NOW, '--to')).toThrowError(
      expect.objectContaining({
        code: 'TIME_INVALID',
        message: expect.stringContaining('--to "') as string,
      }) as Error,
    );
  });
});

describe('parseTimeRange', () => {
  const names = { from: '--from', to: '--to' };

  it('reads either end, or both, or neither; a start without an end ends now', () => {
    expect(parseTimeRange('-7d', '-1d', NOW, names)).toEqual({ fromMs: NOW - 7 * 86_400_000, toMs: NOW - 86_400_000 });
    expect(parseTimeRange('-7d', undefined, NOW, names)).toEqual({ fromMs: NOW - 7 * 86_400_000, toMs: NOW });
    expect(parseTimeRange('-7d', undefined, NOW, names)).toEqual(parseTimeRange('-7d', 'now', NOW, names));
    expect(parseTimeRange(undefined, 'now', NOW, names)).toEqual({ toMs: NOW });
    expect(parseTimeRange(undefined, '+1d', NOW, names)).toEqual({ toMs: NOW + 86_400_000 });
    expect(parseTimeRange(undefined, undefined, NOW, names)).toEqual({});
    expect(parseTimeRange('now', '+1d', NOW, names)).toEqual({ fromMs: NOW, toMs: NOW + 86_400_000 });
  });

  it('raises an end finer than a millisecond to the next one, so it does not leave out the millisecond it is in', () => {
    const at = Date.parse('2026-11-28T06:27:46.010Z');
    expect(parseTimeRange('2026-11-28T06:27:46.010692Z', '2026-11-28T06:27:46.010692Z', NOW, names)).toEqual({
      fromMs: at,
      toMs: at + 1,
    });
    expect(parseTimeRange(undefined, '2026-11-28T06:27:46.010000Z', NOW, names)).toEqual({ toMs: at });
    expect(parseTimeRange(undefined, '2026-11-28T06:27:46.010Z', NOW, names)).toEqual({ toMs: at });
  });

  it.each(['now', '+1d', '+1s', '2026-11-26T00:00:00Z', '2026-11-25T12:00:00Z'])(
    'refuses a start of %s with no end, a period from it to now with no time in it',
    (from) => {
      for (const ends of [names, { from: 'from', to: 'to' }]) {
        let thrown: unknown;
        try {
          parseTimeRange(from, undefined, NOW, ends);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toMatchObject({
          code: 'TIME_INVALID',
          message: `The period is empty: ${ends.from} (${new Date(parseTimeExpression(from, NOW, ends.from)).toISOString()}) is not before now (2026-11-25T12:00:00.000Z), where it ends when ${ends.to} is not given.`,
          hint: `Give ${ends.from} a time before now, or give ${ends.to} a later end; the end is not included.`,
        });
      }
    },
  );

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
