import { AppError } from './errors.js';

export interface BackoffPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxAttempts: number;
}

/**
 * One request's own retries: a few quick tries ride out a blip; longer outages are the scheduler's to wait out,
 * from the committed cursor, so nothing waits minutes inside a single request.
 */
export const REQUEST_BACKOFF: BackoffPolicy = { baseDelayMs: 500, maxDelayMs: 8_000, maxAttempts: 4 };

/** `collect --once`: a source still failing after three spaced pulls is reported failed instead of hanging. */
export const CATCH_UP_BACKOFF: BackoffPolicy = { baseDelayMs: 1_000, maxDelayMs: 30_000, maxAttempts: 3 };

/** Following: retry forever, at most every five minutes, so the collector never gives up after start-up. */
export const FOLLOW_BACKOFF: BackoffPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/**
 * Cloudflare blocks a token that went over its limit "for the next five minutes" (API-NOTES.md, Limits), so no
 * honest Retry-After asks for longer; a larger one (a proxy's, or a bad clock's) would park a collector for hours.
 */
export const MAX_RETRY_AFTER_MS = 300_000;

/** The wait an error asks for (a 429's Retry-After), at most MAX_RETRY_AFTER_MS; undefined when it asks none. */
export function requestedDelayMs(error: AppError): number | undefined {
  const requested = error.details['retryAfterMs'];
  if (typeof requested !== 'number' || !(requested >= 0)) return undefined;
  return Math.min(requested, MAX_RETRY_AFTER_MS);
}

/**
 * How long to wait before retry `attempt`: what the error asks for, but never less than the backoff. A
 * `Retry-After: 0` (or a date already past) repeated on every answer would otherwise retry at once, again and
 * again, spending the token's whole budget in seconds.
 */
export function retryDelayMs(
  error: AppError,
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  return Math.max(requestedDelayMs(error) ?? 0, backoffDelayMs(attempt, policy, random));
}

/** Full jitter: spreads retries of many collectors so they do not hit the API in lockstep. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
// Node's timers hold at most 2^31 - 1 ms (about 24.8 days) and fire after 1 ms for anything longer, which turned
// an oversized wait into a busy loop.
const LONGEST_TIMER_MS = 2 ** 31 - 1;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(LONGEST_TIMER_MS, Math.max(0, Number.isFinite(ms) ? ms : LONGEST_TIMER_MS)),
    );
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

/**
 * Whether `signal` was aborted by a deadline: AbortSignal.timeout (alone or through AbortSignal.any) aborts with a
 * TimeoutError, a stop the user asked for with any other reason. A deadline passing is the remote end not answering
 * in time, which the user can try again; a stop is not a failure to report.
 */
export function deadlinePassed(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof Error && reason.name === 'TimeoutError';
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** Retries `operation` while it throws a retryable AppError, with jittered backoff or the delay the error asks for. */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: {
    readonly policy: BackoffPolicy;
    readonly signal?: AbortSignal;
    readonly onRetry?: (error: AppError, attempt: number, delayMs: number) => void;
  },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!(error instanceof AppError) || !error.retryable || attempt >= options.policy.maxAttempts) throw error;
      const delayMs = retryDelayMs(error, attempt, options.policy);
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, options.signal);
    }
  }
}
