import { AppError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const RELATIVE = /^([+-])(\d+)([smhdw])$/;
// RFC 3339 / ISO 8601 with an explicit zone, or a bare date read as UTC midnight.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** `now`, or a time relative to it such as `-24h` or `+1d`, in epoch ms; null for any other text. */
export function relativeTimeMs(text: string, nowMs: number): number | null {
  const value = text.trim();
  if (value.toLowerCase() === 'now') return nowMs;
  const relative = RELATIVE.exec(value);
  if (relative === null) return null;
  const [, sign, amount, unit] = relative;
  const delta = Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
  return sign === '-' ? nowMs - delta : nowMs + delta;
}

/** Parses `now`, `-24h`, `-7d`, an ISO 8601 date-time with zone, or a date (UTC) into epoch ms. */
export function parseTimeExpression(text: string, nowMs: number, flag: string): number {
  const value = text.trim();
  const relative = relativeTimeMs(value, nowMs);
  if (relative !== null) return relative;
  if (ISO_WITH_ZONE.test(value) || ISO_DATE.test(value)) {
    const parsed = Date.parse(ISO_DATE.test(value) ? `${value}T00:00:00Z` : value);
    if (!Number.isNaN(parsed)) return parsed;
  }
  throw new AppError('TIME_INVALID', {
    message: `${flag} "${value}" is not a time zerotrail understands.`,
    hint: 'Use now, a relative time such as -15m, -24h or -7d, or ISO 8601 with a zone such as 2026-11-25T08:00:00Z.',
  });
}

/** A period from `from` (inclusive) to `to` (exclusive), either end open when not given. */
export interface TimeRange {
  readonly fromMs?: number;
  readonly toMs?: number;
}

/**
 * Parses the two ends of a period, each as parseTimeExpression does; `names` are what the user typed them as
 * (`--from`, `from`). A period with no time in it is refused rather than searched: swapped ends (`--from -1d
 * --to -7d`) would otherwise look like a store with no events.
 */
export function parseTimeRange(
  from: string | undefined,
  to: string | undefined,
  nowMs: number,
  names: { readonly from: string; readonly to: string },
): TimeRange {
  const fromMs = from === undefined ? undefined : parseTimeExpression(from, nowMs, names.from);
  const toMs = to === undefined ? undefined : parseTimeExpression(to, nowMs, names.to);
  if (fromMs !== undefined && toMs !== undefined) checkPeriodNotEmpty(fromMs, toMs, names);
  return { ...(fromMs === undefined ? {} : { fromMs }), ...(toMs === undefined ? {} : { toMs }) };
}

/** Refuses, with TIME_INVALID, a period from `fromMs` (inclusive) to `toMs` (exclusive) with no time in it. */
export function checkPeriodNotEmpty(
  fromMs: number,
  toMs: number,
  names: { readonly from: string; readonly to: string },
): void {
  if (toMs > fromMs) return;
  throw new AppError('TIME_INVALID', {
    message: `The period is empty: ${names.from} (${new Date(fromMs).toISOString()}) is not before ${names.to} (${new Date(toMs).toISOString()}).`,
    hint: `Give ${names.from} the earlier time; ${names.to} is the end, not included.`,
  });
}
