import type { NormalizedEvent } from '../core/event.js';
import { encodeFollowToken } from './page-token.js';
import type { FollowPage } from './store.js';

// How far along the storing order one follow read looks: a filter that matches little still costs one bounded
// scan per read, and a read never holds the database for long. Wide enough that a dense follow fills its page.
const FOLLOW_SCAN_SEQS = 20_000;

/** What a store knows of its numbering when a follow read starts, read before the events themselves. */
export interface FollowBounds {
  /** The largest number in use; every number up to it belongs to a committed event (or to none, ever). */
  readonly last: number | null;
  /** The first number in use after the follower's position, which skips what retention deleted in one step. */
  readonly first: number | null;
}

/**
 * The last number a read scans up to, or null when nothing was stored after the follower's position. The read
 * never goes past `last`: a number beyond it may still belong to a transaction that has not committed yet.
 */
export function followUpTo(bounds: FollowBounds): number | null {
  if (bounds.first === null || bounds.last === null || bounds.first > bounds.last) return null;
  return Math.min(bounds.first - 1 + FOLLOW_SCAN_SEQS, bounds.last);
}

/** The answer to a read that scanned (after, upTo] and found `rows`, at most `limit`, in number order. */
export function followPage(
  rows: readonly { readonly seq: number; readonly event: NormalizedEvent }[],
  limit: number,
  after: number,
  upTo: number | null,
  last: number | null,
): FollowPage {
  if (upTo === null) return { events: [], next: encodeFollowToken(after), more: false };
  const lastRow = rows[rows.length - 1];
  // A full page may stop short of `upTo`; the next read starts after its last event instead.
  const reached = rows.length >= limit && lastRow !== undefined ? lastRow.seq : upTo;
  return {
    events: rows.map((row) => row.event),
    next: encodeFollowToken(reached),
    more: last !== null && reached < last,
  };
}
