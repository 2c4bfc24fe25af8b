import { createPrng } from './prng.js';

/** When a fault fires: every Nth request, with a seeded probability, or (neither given) on every request. */
export interface FaultTrigger {
  readonly everyNth?: number | undefined;
  readonly probability?: number | undefined;
  /** Stop firing after this many times (counted since the faults were set). */
  readonly maxTimes?: number | undefined;
}

/** Faults to inject; switch them per run (`faults` option) or at runtime (`setFaults`). */
export interface SimulatorFaults {
  /** 429 with `Retry-After`, independent of the real per-token rate limit. */
  readonly rateLimit?: (FaultTrigger & { readonly retryAfterSecs?: number | undefined }) | undefined;
  /** 5xx with an HTML body, as Cloudflare's edge sends when the origin API fails. */
  readonly serverError?: (FaultTrigger & { readonly statuses?: readonly number[] | undefined }) | undefined;
  /** The socket is destroyed after the headers and part of the body were sent. */
  readonly connectionReset?: FaultTrigger | undefined;
  /** The response is held back for `delayMs` before it is sent. */
  readonly slow?: (FaultTrigger & { readonly delayMs: number }) | undefined;
  /** 200 with a well-framed but cut JSON body. */
  readonly truncatedJson?: FaultTrigger | undefined;
  /** A fraction of events becomes visible only `delayMs` after its `created_at`. */
  readonly lateEvents?: { readonly fraction: number; readonly delayMs: number } | undefined;
  /** Extra events, `count` of them sharing exactly the `created_at` `atMs`. */
  readonly bursts?: readonly { readonly atMs: number; readonly count: number }[] | undefined;
  /** A fraction of events carries HTML, SQL, control characters, lone surrogates or 100 kB strings. */
  readonly hostileValues?: { readonly fraction: number } | undefined;
  /** Render `created_at` with a non-UTC offset and microseconds. */
  readonly timestampOffsets?: boolean | undefined;
}

export type TriggeredFault = 'rateLimit' | 'serverError' | 'connectionReset' | 'slow' | 'truncatedJson';

/** Decides, request by request, which triggered faults fire. Counters restart whenever the faults change. */
export class FaultInjector {
  readonly faults: SimulatorFaults;
  readonly #random: () => number;
  readonly #seen = new Map<TriggeredFault, number>();
  readonly #fired = new Map<TriggeredFault, number>();

  constructor(faults: SimulatorFaults, seed: number) {
    this.faults = faults;
    this.#random = createPrng(seed ^ 0xfa17);
  }

  fires(kind: TriggeredFault): boolean {
    const trigger: FaultTrigger | undefined = this.faults[kind];
    if (trigger === undefined) return false;
    const seen = (this.#seen.get(kind) ?? 0) + 1;
    this.#seen.set(kind, seen);
    const fired = this.#fired.get(kind) ?? 0;
    if (trigger.maxTimes !== undefined && fired >= trigger.maxTimes) return false;
    let hit = true;
    if (trigger.everyNth !== undefined) hit = seen % Math.max(1, Math.floor(trigger.everyNth)) === 0;
    if (hit && trigger.probability !== undefined) hit = this.#random() < trigger.probability;
    if (hit) this.#fired.set(kind, fired + 1);
    return hit;
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.#random() * items.length)];
  }
}
