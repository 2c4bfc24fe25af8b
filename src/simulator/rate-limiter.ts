import type { Clock } from '../core/clock.js';

export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly remaining: number;
  /** Whole seconds until the window resets (rounded up, as Cloudflare's `Retry-After`). */
  readonly resetSecs: number;
}

/**
 * Fixed-window limit per token. Cloudflare counts 1200 requests per 5 minutes per token, and going over "blocks
 * all API calls for the next five minutes" (API-NOTES §3): the request that goes over starts a block of one
 * window's length, whatever was left of the window it went over in.
 */
export class RateLimiter {
  readonly #requests: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly #blockedUntil = new Map<string, number>();

  constructor(requests: number, windowSecs: number, clock: Clock) {
    this.#requests = requests;
    this.#windowMs = windowSecs * 1000;
    this.#clock = clock;
  }

  get requests(): number {
    return this.#requests;
  }

  get windowSecs(): number {
    return this.#windowMs / 1000;
  }

  /** Counts one request for `key` and says whether it may proceed. */
  take(key: string): RateLimitDecision {
    const now = this.#clock.now();
    const blocked = this.#blocked(key, now);
    if (blocked !== null) return blocked;
    let window = this.#windows.get(key);
    if (window === undefined || now >= window.start + this.#windowMs) {
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    window.count++;
    if (window.count <= this.#requests) return this.#decision(window, now);
    this.#blockedUntil.set(key, now + this.#windowMs);
    this.#windows.delete(key);
    return { allowed: false, remaining: 0, resetSecs: this.windowSecs };
  }

  /** The state for `key` without counting a request. */
  peek(key: string): RateLimitDecision {
    const now = this.#clock.now();
    const blocked = this.#blocked(key, now);
    if (blocked !== null) return blocked;
    const window = this.#windows.get(key);
    if (window === undefined || now >= window.start + this.#windowMs)
      return { allowed: true, remaining: this.#requests, resetSecs: this.windowSecs };
    return this.#decision(window, now);
  }

  #blocked(key: string, now: number): RateLimitDecision | null {
    const until = this.#blockedUntil.get(key);
    if (until === undefined) return null;
    if (now >= until) {
      this.#blockedUntil.delete(key);
      return null;
    }
    return { allowed: false, remaining: 0, resetSecs: Math.max(1, Math.ceil((until - now) / 1000)) };
  }

  #decision(window: { start: number; count: number }, now: number): RateLimitDecision {
    return {
      allowed: window.count <= this.#requests,
      remaining: Math.max(0, this.#requests - window.count),
      resetSecs: Math.max(1, Math.ceil((window.start + this.#windowMs - now) / 1000)),
    };
  }
}
