import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { MAX_RETRY_AFTER_MS, requestedDelayMs, retryDelayMs, sleep, withRetry } from './retry.js';

function rateLimited(retryAfterMs: unknown): AppError {
  return new AppError('SOURCE_RATE_LIMITED', { message: 'slow down', retryable: true, details: { retryAfterMs } });
}

describe('requestedDelayMs', () => {
  it('honours a wait up to five minutes and no more', () => {
    expect(requestedDelayMs(rateLimited(30_000))).toBe(30_000);
    expect(requestedDelayMs(rateLimited(86_400_000))).toBe(MAX_RETRY_AFTER_MS);
    expect(requestedDelayMs(rateLimited(-1))).toBeUndefined();
    expect(requestedDelayMs(rateLimited(Number.NaN))).toBeUndefined();
    expect(requestedDelayMs(rateLimited(undefined))).toBeUndefined();
  });

  it('is what withRetry waits when an error asks for a day', async () => {
    const waits: number[] = [];
    const controller = new AbortController();
    const attempt = withRetry(
      () => {
        throw rateLimited(86_400_000);
      },
      {
        policy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 },
        signal: controller.signal,
        onRetry: (_error, _attempt, delayMs) => {
          waits.push(delayMs);
          controller.abort(new Error('stop'));
        },
      },
    );
    await expect(attempt).rejects.toThrow('stop');
    expect(waits).toEqual([MAX_RETRY_AFTER_MS]);
  });
});

describe('retryDelayMs', () => {
  const policy = { baseDelayMs: 1_000, maxDelayMs: 30_000, maxAttempts: Number.POSITIVE_INFINITY };
  const lowest = (): number => 0;

  it('waits what the error asks when that is longer than the backoff', () => {
    expect(retryDelayMs(rateLimited(30_000), 1, policy, lowest)).toBe(30_000);
  });

  it('never retries sooner than the backoff, whatever an answer asks', () => {
    // Retry-After: 0 on every answer: the waits still grow, 500 ms, 1 s, 2 s… (the lowest jitter).
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(rateLimited(0), attempt, policy, lowest))).toEqual([
      500, 1_000, 2_000, 4_000,
    ]);
    expect(retryDelayMs(rateLimited(undefined), 6, policy, lowest)).toBe(15_000);
  });
});

describe('sleep', () => {
  it('waits out a delay longer than a timer holds instead of firing at once', async () => {
    const controller = new AbortController();
    let done = false;
    const waiting = sleep(1e12, controller.signal).then(
      () => (done = true),
      () => 'aborted',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done).toBe(false);
    controller.abort(new Error('stop'));
    expect(await waiting).toBe('aborted');
  });
});
