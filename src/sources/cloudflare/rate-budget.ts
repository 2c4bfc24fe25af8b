import type { Clock } from '../../core/clock.js';
import type { SharedRateBudget } from '../../core/context.js';
import { MAX_RETRY_AFTER_MS, sleep as realSleep } from '../../core/retry.js';

export interface RateBudgetOptions {
  /** Requests the server allows per window for the whole token. */
  readonly requests: number;
  readonly windowSecs: number;
  /** The part of `requests` this process may use, 0 < share <= 1. */
  readonly share: number;
  readonly clock: Clock;
  /** How waiting happens; tests pass one that advances a ManualClock. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * The same budget kept in the store and shared with every other node using the token, under `key` (the
   * token's fingerprint): each request takes from it too, so the nodes together stay within the budget.
   */
  readonly shared?: { readonly budget: SharedRateBudget; readonly key: string };
}

interface ServerHint {
  remaining: number;
  readonly resetAtMs: number;
  readonly observedAtMs: number;
}

// Below this fraction of the server's quota left, requests are spread over the time until reset
// instead of spent in a burst that would end in a five-minute block (API-NOTES §3).
const LOW_REMAINING_FRACTION = 0.1;
// x-ratelimit-reset values above this are read as epoch seconds, below it as seconds from now; the older
// docs did not say which form Cloudflare sends.
const EPOCH_SECONDS_THRESHOLD = 1_000_000_000;
// Cloudflare's quota windows are five minutes long (API-NOTES §3): a reset reported further out is a malformed or
// foreign header (epoch milliseconds, a proxy's own scheme) and would stall every user of the token for that long.
const LONGEST_SERVER_RESET_MS = MAX_RETRY_AFTER_MS;

// Keyed by clock first: budgets measured on different time sources (a test's manual clock, the system clock)
// must never share a window. Production has one clock, so one budget per token per process.
const registry = new WeakMap<Clock, Map<string, RateBudget>>();

/**
 * Client-side request budget for one API token, shared by every user of that token in this process:
 * at most floor(requests × share) requests in any sliding window, slower when the server reports a low
 * remaining quota, and no request at all while a 429's Retry-After runs.
 */
export class RateBudget {
  readonly capacity: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #serverLimit: number;
  /** Grant times, oldest first; never longer than `capacity`. */
  readonly #grants: number[] = [];
  #blockedUntilMs = 0;
  #hint: ServerHint | undefined;
  #lastGrantMs: number | undefined;
  readonly #shared: RateBudgetOptions['shared'];
  #pendingHold: Promise<{ readonly error: unknown } | undefined> | undefined;

  constructor(options: RateBudgetOptions) {
    if (!(options.share > 0 && options.share <= 1)) throw new RangeError('share must be in (0, 1]');
    this.capacity = Math.max(1, Math.floor(options.requests * options.share));
    this.#serverLimit = options.requests;
    this.#windowMs = options.windowSecs * 1000;
    this.#clock = options.clock;
    this.#sleep = options.sleep ?? realSleep;
    this.#shared = options.shared;
  }

  /**
   * The budget of the token with this fingerprint (a SHA-256 of the token, never the token itself).
   * The first caller's limits win: one token has one quota however many sources use it.
   */
  static forToken(fingerprint: string, options: RateBudgetOptions): RateBudget {
    let budgets = registry.get(options.clock);
    if (budgets === undefined) {
      budgets = new Map();
      registry.set(options.clock, budgets);
    }
    let budget = budgets.get(fingerprint);
    // A budget kept in a store belongs to that store: an installation opened again in this process (a second
    // command run in it, the server reopening its store) keeps the bucket in its own, not in one since closed.
    if (budget === undefined || budget.#shared?.budget !== options.shared?.budget) {
      budget = new RateBudget(options);
      budgets.set(fingerprint, budget);
    }
    return budget;
  }

  /** Waits until a request may be sent and takes its slot. Rejects with the signal's reason when aborted. */
  async acquire(signal: AbortSignal): Promise<void> {
    const hold = this.#pendingHold;
    if (hold !== undefined) {
      this.#pendingHold = undefined;
      const failed = await hold;
      if (failed !== undefined) throw failed.error;
    }
    for (;;) {
      signal.throwIfAborted();
      const now = this.#clock.now();
      const readyAt = this.#readyAt(now);
      if (readyAt <= now) {
        const sharedWaitMs =
          this.#shared === undefined
            ? 0
            : await this.#shared.budget.takeRateToken(this.#shared.key, this.capacity, this.#windowMs);
        if (sharedWaitMs === 0) {
          this.#grant(this.#clock.now());
          return;
        }
        // The other nodes spent the shared budget; wait for it to refill instead of taking a local slot.
        await this.#sleep(sharedWaitMs, signal);
        continue;
      }
      await this.#sleep(readyAt - now, signal);
    }
  }

  /** The token's limit as the server applies it, for messages: "1200 requests per 5 minutes". */
  describeLimit(): string {
    const seconds = this.#windowMs / 1000;
    const window = seconds % 60 === 0 ? `${seconds / 60} minute${seconds === 60 ? '' : 's'}` : `${seconds} s`;
    return `${this.#serverLimit} requests per ${window}`;
  }

  /** Milliseconds until `acquire` would grant a slot, 0 when it would grant one now. */
  waitMs(): number {
    const now = this.#clock.now();
    return Math.max(0, this.#readyAt(now) - now);
  }

  /**
   * Every user of the token waits until `untilMs` (epoch ms), as after a 429 with Retry-After: in this process, and
   * through the shared bucket in every other process on the store, also one started while the hold lasts.
   */
  block(untilMs: number): void {
    this.#blockedUntilMs = Math.max(this.#blockedUntilMs, untilMs);
    if (this.#shared === undefined) return;
    const { budget, key } = this.#shared;
    const holdMs = Math.max(0, untilMs - this.#clock.now());
    // Written before the next request is granted: acquire awaits it, so a failure to write reaches a caller
    // (kept as a value until then, so that no rejection goes unhandled if no request follows).
    const previous = this.#pendingHold ?? Promise.resolve(undefined);
    this.#pendingHold = previous.then((earlier) =>
      budget.holdRateTokens(key, holdMs, this.capacity, this.#windowMs).then(
        () => earlier,
        (error: unknown) => earlier ?? { error },
      ),
    );
  }

  /**
   * Reads the server's view of the quota from a response: `Ratelimit: "default";r=<remaining>;t=<secs>`
   * (changelog 2025-09-03) or the older `x-ratelimit-remaining` / `x-ratelimit-reset` pair.
   */
  observe(headers: Headers): void {
    const now = this.#clock.now();
    const parsed = parseRatelimit(headers.get('ratelimit')) ?? parseLegacy(headers, now);
    if (parsed === undefined) return;
    this.#hint = { remaining: parsed.remaining, resetAtMs: now + parsed.resetMs, observedAtMs: now };
  }

  #readyAt(now: number): number {
    while (this.#grants.length > 0 && (this.#grants[0] ?? 0) <= now - this.#windowMs) this.#grants.shift();
    let readyAt = this.#blockedUntilMs;
    if (this.#grants.length >= this.capacity) {
      readyAt = Math.max(readyAt, (this.#grants[0] ?? now) + this.#windowMs);
    }
    const hint = this.#hint;
    if (hint !== undefined && now < hint.resetAtMs) {
      if (hint.remaining <= 0) {
        readyAt = Math.max(readyAt, hint.resetAtMs);
      } else if (hint.remaining < this.#serverLimit * LOW_REMAINING_FRACTION && this.#lastGrantMs !== undefined) {
        const spacingMs = (hint.resetAtMs - hint.observedAtMs) / hint.remaining;
        readyAt = Math.max(readyAt, Math.ceil(this.#lastGrantMs + spacingMs));
      }
    }
    return readyAt;
  }

  #grant(now: number): void {
    this.#grants.push(now);
    this.#lastGrantMs = now;
    // Until the next response reports the quota again, count our own request against it.
    if (this.#hint !== undefined) this.#hint.remaining -= 1;
  }
}

function parseRatelimit(value: string | null): { remaining: number; resetMs: number } | undefined {
  if (value === null) return undefined;
  // A structured-field list; the first member carrying both r and t is the one that applies to this request.
  for (const member of value.split(',')) {
    const remaining = /;\s*r=(\d+)/.exec(member)?.[1];
    const reset = /;\s*t=(\d+)/.exec(member)?.[1];
    if (remaining !== undefined && reset !== undefined) {
      return { remaining: Number(remaining), resetMs: Math.min(Number(reset) * 1000, LONGEST_SERVER_RESET_MS) };
    }
  }
  return undefined;
}

function parseLegacy(headers: Headers, now: number): { remaining: number; resetMs: number } | undefined {
  const remaining = headers.get('x-ratelimit-remaining');
  const reset = headers.get('x-ratelimit-reset');
  if (remaining === null || reset === null || !/^\d+$/.test(remaining.trim()) || !/^\d+$/.test(reset.trim())) {
    return undefined;
  }
  const resetValue = Number(reset);
  const resetMs = resetValue > EPOCH_SECONDS_THRESHOLD ? Math.max(0, resetValue * 1000 - now) : resetValue * 1000;
  return { remaining: Number(remaining), resetMs: Math.min(resetMs, LONGEST_SERVER_RESET_MS) };
}
