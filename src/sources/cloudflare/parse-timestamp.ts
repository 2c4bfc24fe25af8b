import { rfc3339ToMs } from '../../core/rfc3339-to-ms.js';

/**
 * Epoch milliseconds UTC of an RFC 3339 timestamp, truncated to the millisecond so that every comparison
 * happens at one precision; undefined when the text is not RFC 3339. The normalizers read times with the same
 * parser, so every record paging places in time is one they store.
 */
export function parseTimestamp(text: string): number | undefined {
  let known = PARSED.get(text);
  if (known === undefined) {
    known = rfc3339ToMs(text);
    if (PARSED.size >= MAX_PARSED) PARSED.clear();
    PARSED.set(text, known);
  }
  return known ?? undefined;
}

// A record's time is read when its page is checked, ordered, deduplicated at the window's edge and advanced past:
// each text is parsed once and then looked up. Emptied when full, so it stays small.
const PARSED = new Map<string, number | null>();
const MAX_PARSED = 4096;

/** RFC 3339 UTC with milliseconds, as sent to the API and kept in cursors. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}
