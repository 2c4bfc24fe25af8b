import type { SharedRateBudget } from '../core/context.js';

export type { SharedRateBudget };

/** The token bucket step both stores run inside one transaction on the bucket's row. */
export function refillAndTake(
  row: { readonly tokens: number; readonly updatedAt: number } | undefined,
  nowMs: number,
  capacity: number,
  windowMs: number,
): { readonly tokens: number; readonly waitMs: number } {
  const perMs = capacity / windowMs;
  const elapsed = row === undefined ? 0 : Math.max(0, nowMs - row.updatedAt);
  const available = row === undefined ? capacity : Math.min(capacity, row.tokens + elapsed * perMs);
  if (available >= 1) return { tokens: available - 1, waitMs: 0 };
  return { tokens: available, waitMs: Math.max(1, Math.ceil((1 - available) / perMs)) };
}
