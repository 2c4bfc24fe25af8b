import type { SharedRateBudget } from '../core/context.js';

export type { SharedRateBudget };

// A bucket that holds a whole window's budget and refills it over the window lets that budget through at once and
// as much again while it refills: twice the share in one window, which a restart or a second process on the token
// reached (each process also keeps its own exact sliding window, but only for its own requests). Holding all but
// a tenth back as steady refill keeps any window within the budget (burst + refill = capacity), at 90% of the
// sustained rate.
const BURST_FRACTION = 0.1;

/** How many requests the bucket lets through at once, and how many it adds back per window. */
export function bucketShape(capacity: number): { readonly burst: number; readonly refillPerWindow: number } {
  const burst = Math.max(1, Math.floor(capacity * BURST_FRACTION));
  // A budget of one request per window cannot be split; it may then reach two in a window across processes.
  return { burst, refillPerWindow: Math.max(1, capacity - burst) };
}

/** A bucket's row as the stores keep it. */
export interface BucketRow {
  readonly tokens: number;
  readonly updatedAt: number;
}

/** What a step on a bucket's row leaves in it, and what it tells the caller. */
export type BucketStep<T> = (
  row: BucketRow | undefined,
  nowMs: number,
) => { readonly tokens: number; readonly answer: T };

/**
 * The token bucket step both stores run inside one transaction on the bucket's row: at most `capacity` requests
 * in any window of `windowMs`, whoever takes them. Answers 0 when a request may go, else how long to wait.
 */
export function takeToken(capacity: number, windowMs: number): BucketStep<number> {
  return (row, nowMs) => {
    const { available, perMs } = refilled(row, nowMs, capacity, windowMs);
    if (available >= 1) return { tokens: available - 1, answer: 0 };
    return { tokens: available, answer: Math.max(1, Math.ceil((1 - available) / perMs)) };
  };
}

/**
 * The step for a 429 that asked every user of the token to wait `holdMs`: the bucket refills to its next token
 * only when the hold ends, so a process started meanwhile (a restart, a cron run beside the server) waits too
 * instead of sending its first requests into the block.
 */
export function holdTokens(holdMs: number, capacity: number, windowMs: number): BucketStep<void> {
  return (row, nowMs) => {
    const { available, perMs } = refilled(row, nowMs, capacity, windowMs);
    return { tokens: Math.min(available, 1 - holdMs * perMs), answer: undefined };
  };
}

function refilled(
  row: BucketRow | undefined,
  nowMs: number,
  capacity: number,
  windowMs: number,
): { readonly available: number; readonly perMs: number } {
  const { burst, refillPerWindow } = bucketShape(capacity);
  const perMs = refillPerWindow / windowMs;
  const elapsed = row === undefined ? 0 : Math.max(0, nowMs - row.updatedAt);
  return { available: row === undefined ? burst : Math.min(burst, row.tokens + elapsed * perMs), perMs };
}
