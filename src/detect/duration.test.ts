import { describe, expect, it } from 'vitest';
import { durationSchema } from './duration.js';

function problem(text: string): string | undefined {
  const parsed = durationSchema.safeParse(text);
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
}

describe('rule file durations', () => {
  it('reads a number and s, m, h or d as milliseconds', () => {
    expect(['1s', '10m', '1h', '7d'].map((text) => durationSchema.parse(text))).toEqual([
      1_000, 600_000, 3_600_000, 604_800_000,
    ]);
  });

  it('refuses zero for being zero, not for its form', () => {
    for (const text of ['0s', '0m', '000h']) {
      expect(problem(text)).toBe(`"${text}" is zero; a duration must be more than zero (1s at least)`);
    }
    expect(problem('10 minutes')).toBe('"10 minutes" is not a duration; write a number and s, m, h or d (10m, 1h, 7d)');
  });
});
