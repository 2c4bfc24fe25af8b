import { describe, expect, it } from 'vitest';
import { normalizeAccessRequest } from '../../normalize/cloudflare/access-requests.js';
import { formatTimestamp, parseTimestamp } from './parse-timestamp.js';

const BASE = Date.UTC(2026, 2, 1, 11, 30, 0);

describe('parseTimestamp', () => {
  it('reads UTC with and without fractions', () => {
    expect(parseTimestamp('2026-03-01T11:30:00Z')).toBe(BASE);
    expect(parseTimestamp('2026-03-01T11:30:00.5Z')).toBe(BASE + 500);
    expect(parseTimestamp('2026-03-01t11:30:00.123z')).toBe(BASE + 123);
  });

  it('truncates micro- and nanoseconds to the millisecond', () => {
    expect(parseTimestamp('2026-03-01T11:30:00.123999Z')).toBe(BASE + 123);
    expect(parseTimestamp('2026-03-01T11:30:00.123456789Z')).toBe(BASE + 123);
  });

  it('applies any offset', () => {
    expect(parseTimestamp('2026-03-01T13:30:00+02:00')).toBe(BASE);
    expect(parseTimestamp('2026-03-01T06:00:00.250-05:30')).toBe(BASE + 250);
    expect(parseTimestamp('2026-03-01T11:30:00+0000')).toBe(BASE);
  });

  it('rejects what is not RFC 3339', () => {
    for (const text of ['', 'yesterday', '2026-03-01', '2026-03-01T11:30:00', '2026-13-01T00:00:00Z', '1700000000']) {
      expect(parseTimestamp(text)).toBeUndefined();
    }
  });

  it('rolls a day past its month over as Date does, refuses what no calendar reads, and keeps years before 100', () => {
    expect(parseTimestamp('2026-02-30T00:00:00Z')).toBe(Date.UTC(2026, 2, 2));
    expect(parseTimestamp('2026-03-01T11:30:00+24:00')).toBe(BASE - 24 * 3_600_000);
    expect(parseTimestamp('2026-00-10T00:00:00Z')).toBeUndefined();
    expect(parseTimestamp('2026-03-32T00:00:00Z')).toBeUndefined();
    expect(parseTimestamp('2026-03-01T25:00:00Z')).toBeUndefined();
    expect(parseTimestamp('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseTimestamp('0099-01-01T00:00:00Z')).toBe(new Date('0099-01-01T00:00:00Z').getTime());
  });

  it('places in time exactly the records the normalizer stores, at the same millisecond', () => {
    const texts = [
      '2026-03-01T11:30:00Z',
      '2026-03-01T13:30:00+0200',
      '2026-03-01T11:30:00.1234567891Z',
      ' 2026-03-01T11:30:00Z ',
      '2026-03-01 11:30:00z',
      '2026-02-30T00:00:00Z',
      '0099-01-01T00:00:00Z',
      '2026-03-01T11:30:60Z',
      '2026-03-01T11:30:00+24:00',
      '2026-03-01T11:30Z',
      '2026-03-01T11:30:00',
    ];
    const meta = { sourceName: 's', accountId: '0123456789abcdef0123456789abcdef', dataset: 'access_requests' };
    for (const text of texts) {
      const normalized = normalizeAccessRequest({ created_at: text, ray_id: 'r' }, meta);
      const stored = 'rejected' in normalized ? undefined : normalized.time;
      expect({ text, paging: parseTimestamp(text) }).toEqual({ text, paging: stored });
    }
  });

  it('formats as RFC 3339 UTC with milliseconds, and reads its own output back', () => {
    expect(formatTimestamp(BASE + 7)).toBe('2026-03-01T11:30:00.007Z');
    expect(parseTimestamp(formatTimestamp(BASE + 7))).toBe(BASE + 7);
  });
});
