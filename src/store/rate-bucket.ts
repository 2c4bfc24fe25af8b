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

/**
 * The token bucket step both stores run inside one transaction on the bucket's row: at most `capacity` requests
 * in any window of `windowMs`, whoever takes them.
 */
export function refillAndTake(
  row: { readonly tokens: number; readonly updatedAt: number } | undefined,
  nowMs: number,
  capacity: number,
  windowMs: number,
): { readonly tokens: number; readonly waitMs: number } {
  const { burst, refillPerWindow } = bucketShape(capacity);
  const perMs = refillPerWindow / windowMs;
  const elapsed = row === undefined ? 0 : Math.max(0, nowMs - row.updatedAt);
  const available = row === undefined ? burst : Math.min(burst, row.tokens + elapsed * perMs);
  if (available >= 1) return { tokens: available - 1, waitMs: 0 };
  return { tokens: available, waitMs: Math.max(1, Math.ceil((1 - available) / perMs)) };
}
