// RFC 3339 date-time: any offset, any number of fractional digits (Cloudflare sends micro- and nanoseconds).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})$/;

/**
 * Epoch milliseconds UTC of an RFC 3339 timestamp, truncated to the millisecond so that every comparison
 * happens at one precision; undefined when the text is not RFC 3339.
 */
export function parseTimestamp(text: string): number | undefined {
  let known = PARSED.get(text);
  if (known === undefined) {
    known = parseUncached(text) ?? null;
    if (PARSED.size >= MAX_PARSED) PARSED.clear();
    PARSED.set(text, known);
  }
  return known ?? undefined;
}

// A record's time is read when its page is checked, ordered, deduplicated at the window's edge and advanced past:
// each text is parsed once and then looked up. Emptied when full, so it stays small.
const PARSED = new Map<string, number | null>();
const MAX_PARSED = 4096;

function parseUncached(text: string): number | undefined {
  const match = RFC3339.exec(text.trim());
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', offset = 'Z'] = match;
  const base = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  if (
    Number.isNaN(base) ||
    Number(month) > 12 ||
    Number(day) > 31 ||
    Number(hour) > 23 ||
    Number(minute) > 59 ||
    Number(second) > 60
  ) {
    return undefined;
  }
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  let offsetMs = 0;
  if (offset !== 'Z' && offset !== 'z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    offsetMs = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return base + ms - offsetMs;
}

/** RFC 3339 UTC with milliseconds, as sent to the API and kept in cursors. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}
