import { AppError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const RELATIVE = /^([+-])(\d+)([smhdw])$/;
// RFC 3339 / ISO 8601 with an explicit zone, or a bare date read as UTC midnight. The parts are checked one by one:
// Date.parse rolls 2026-02-30 over to March 2 and 24:00 over to the next day, which would search another period
// than the one typed.
const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):?(\d{2}))$/i;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// new Date() holds ±8.64e15 ms; a relative time beyond it (-999999999d) has no ISO form to show or search by.
const MAX_TIME_MS = 8.64e15;

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

/**
 * Parses `now`, `-24h`, `-7d`, an ISO 8601 date-time with zone, or a date (UTC) into epoch ms. `flag` is what
 * the user typed the time as, for the message. A time finer than a millisecond is cut to its millisecond, or
 * with `bound` `'exclusive-end'` raised to the next one.
 */
export function parseTimeExpression(
  text: string,
  nowMs: number,
  flag: string,
  bound: 'start' | 'exclusive-end' = 'start',
): number {
  const value = text.trim();
  const relative = relativeTimeMs(value, nowMs);
  if (relative !== null) {
    if (Math.abs(relative) <= MAX_TIME_MS) return relative;
    throw new AppError('TIME_INVALID', {
      message: `${flag} "${value}" is too far from now: it falls outside the years a date can hold.`,
      hint: 'Give a relative time of at most a few thousand years, such as -3650d, or an ISO 8601 date.',
    });
  }
  const parsed = isoTimeMs(value);
  // Events are stored to the millisecond: an exclusive end of 46.010692 cut to 46.010 would leave out the event
  // stored at 46.010, which comes before the end typed.
  if (parsed !== null) return bound === 'exclusive-end' && finerThanMs(value) ? parsed + 1 : parsed;
  throw new AppError('TIME_INVALID', {
    message: `${flag} "${value}" is not a time zerotrail understands.`,
    hint: 'Use now, a relative time such as -15m, -24h or -7d, or ISO 8601 with a zone such as 2026-11-25T08:00:00Z.',
  });
}

// Epoch ms of an ISO 8601 date-time with zone or a bare date, or null when the text is not one or names a day,
// hour, minute, second or offset that does not exist.
function isoTimeMs(value: string): number | null {
  const date = ISO_DATE.exec(value);
  const dateTime = date === null ? ISO_WITH_ZONE.exec(value) : null;
  const parts = date ?? dateTime;
  if (parts === null) return null;
  const [year, month, day, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = parts
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part)));
  if (year === undefined || month === undefined || day === undefined) return null;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60 || offsetHours > 23 || offsetMinutes > 59) return null;
  // A leap second (:60), which Date.parse refuses, is read as the next minute's first second, as the collector
  // stores an event stamped with one (rfc3339-to-ms.ts): the time copied from such an event then finds it.
  const leapSecond = second === 60;
  const text = date !== null ? `${value}T00:00:00Z` : leapSecond ? value.replace(/:60(?=[.Zz+-])/, ':59') : value;
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) return null;
  return leapSecond ? parsed + 1000 : parsed;
}

/** Whether the time's fraction of a second has a non-zero digit past the third, which Date.parse drops. */
export function finerThanMs(value: string): boolean {
  const fraction = /\.(\d+)/.exec(value)?.[1] ?? '';
  return /[1-9]/.test(fraction.slice(3));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/** A period from `from` (inclusive) to `to` (exclusive), either end open when not given. */
export interface TimeRange {
  readonly fromMs?: number;
  readonly toMs?: number;
}

/**
 * Parses the two ends of a period, each as parseTimeExpression does; `names` are what the user typed them as
 * (`--from`, `from`). A period with a start but no end ends now, as the CLI's help says. With no start, no end
 * given leaves it open: a search for every event, or for one by id, still finds one stamped a moment ahead of
 * this clock. A period with no time in it is refused rather than searched: swapped ends (`--from -1d --to -7d`)
 * or a start at or after now with no end (`--from +1d`) would otherwise look like a store with no events.
 */
export function parseTimeRange(
  from: string | undefined,
  to: string | undefined,
  nowMs: number,
  names: { readonly from: string; readonly to: string },
): TimeRange {
  const fromMs = from === undefined ? undefined : parseTimeExpression(from, nowMs, names.from);
  const toMs = to === undefined ? undefined : parseTimeExpression(to, nowMs, names.to, 'exclusive-end');
  if (fromMs === undefined) return toMs === undefined ? {} : { toMs };
  if (toMs !== undefined) {
    checkPeriodNotEmpty(fromMs, toMs, names);
    return { fromMs, toMs };
  }
  if (fromMs >= nowMs) {
    throw new AppError('TIME_INVALID', {
      message: `The period is empty: ${names.from} (${new Date(fromMs).toISOString()}) is not before now (${new Date(nowMs).toISOString()}), where it ends when ${names.to} is not given.`,
      hint: `Give ${names.from} a time before now, or give ${names.to} a later end; the end is not included.`,
    });
  }
  return { fromMs, toMs: nowMs };
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
