import { describe, expect, it } from 'vitest';
import { bucketShape, holdTokens, takeToken, type BucketRow } from './rate-bucket.js';

// Takes tokens as fast as the bucket allows, and returns the times of the grants. The row is what the store keeps
// for every process and restart alike.
function grants(capacity: number, windowMs: number, untilMs: number): number[] {
  let row: BucketRow | undefined;
  const times: number[] = [];
  const take = takeToken(capacity, windowMs);
  for (let now = 0; now < untilMs;) {
    const next = take(row, now);
    row = { tokens: next.tokens, updatedAt: now };
    if (next.answer === 0) times.push(now);
    else now += next.answer;
  }
  return times;
}

function busiestWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last += 1) {
    while ((times[last] ?? 0) - (times[first] ?? 0) >= windowMs) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe('the shared request bucket', () => {
  it('never lets more than its capacity through in any window, however the requests come', () => {
    for (const capacity of [2, 3, 10, 20, 600, 1200]) {
      const windowMs = 300_000;
      const times = grants(capacity, windowMs, 5 * windowMs);
      expect(busiestWindow(times, windowMs), `capacity ${capacity}`).toBeLessThanOrEqual(capacity);
      // Sustained, it gives what its refill promises.
      const { refillPerWindow } = bucketShape(capacity);
      expect(times.length, `capacity ${capacity}`).toBeGreaterThanOrEqual(5 * refillPerWindow);
    }
  });

  it('keeps a bucket that an earlier version filled to the whole capacity within the new burst', () => {
    const full = { tokens: 600, updatedAt: 0 };
    const taken = takeToken(600, 300_000)(full, 1_000);
    expect(taken).toEqual({ tokens: bucketShape(600).burst - 1, answer: 0 });
  });

  it('grants nothing while a hold lasts, and the next token exactly when it ends', () => {
    const take = takeToken(600, 300_000);
    const held = holdTokens(120_000, 600, 300_000)({ tokens: 60, updatedAt: 0 }, 1_000);
    const row = { tokens: held.tokens, updatedAt: 1_000 };
    expect(take(row, 1_000).answer).toBe(120_000);
    expect(take(row, 120_999).answer).toBeGreaterThan(0);
    expect(take(row, 121_000).answer).toBe(0);
    // A hold shorter than the wait already due changes nothing.
    const empty = { tokens: -5, updatedAt: 0 };
    expect(holdTokens(1, 600, 300_000)(empty, 0).tokens).toBe(-5);
  });
});
