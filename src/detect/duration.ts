import { z } from 'zod';

const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `10m`, `1h`, `7d` in milliseconds; null for anything else. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (match === null) return null;
  const unit = UNITS[match[2] ?? ''];
  return unit === undefined ? null : Number(match[1]) * unit;
}

/**
 * A duration field of a rule file, as milliseconds, more than zero: a zero window, bucket or suppression would
 * make its rule never fire or never group. A learning period is held to the same rule: `1s` is the shortest, in
 * which a key's first event only teaches, rather than a zero that would report every key's first value as new.
 */
export const durationSchema = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null || ms === 0) {
    ctx.addIssue({
      code: 'custom',
      message:
        ms === 0
          ? `"${text}" is zero; a duration must be more than zero (1s at least)`
          : `"${text}" is not a duration; write a number and s, m, h or d (10m, 1h, 7d)`,
    });
    return z.NEVER;
  }
  return ms;
});

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))} seconds`;
  if (ms < 3_600_000) {
    const minutes = Math.max(1, Math.round(ms / 60_000));
    return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  }
  if (ms < 172_800_000) {
    const hours = Math.round(ms / 3_600_000);
    return `${hours} hour${hours === 1 ? '' : 's'}`;
  }
  return `${Math.round(ms / 86_400_000)} days`;
}
