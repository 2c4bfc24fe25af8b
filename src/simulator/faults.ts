import { createPrng } from './prng.js';

/**
 * When a fault fires: every Nth request, with a seeded probability, or (neither given) on every request. Only
 * requests to the routes named in `routes` count and can fire; without `routes` every routed request does.
 */
export interface FaultTrigger {
  /** Route names (see `SIMULATOR_ROUTE_NAMES`), e.g. `['audit-logs-v2']`; unknown names are refused. */
  readonly routes?: readonly string[] | undefined;
  readonly everyNth?: number | undefined;
  readonly probability?: number | undefined;
  /** Stop firing after this many times (counted since the faults were set). */
  readonly maxTimes?: number | undefined;
}

/**
 * Faults to inject; switch them per run (`faults` option) or at runtime (`setFaults`). The triggered faults apply to
 * every route unless their `routes` narrow them; the remaining ones shape access request events only.
 */
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

export const TRIGGERED_FAULTS = ['rateLimit', 'serverError', 'connectionReset', 'slow', 'truncatedJson'] as const;
export type TriggeredFault = (typeof TRIGGERED_FAULTS)[number];

/** Decides, request by request, which triggered faults fire. Counters restart whenever the faults change. */
export class FaultInjector {
  readonly faults: SimulatorFaults;
  readonly #random: () => number;
  readonly #seen = new Map<TriggeredFault, number>();
  readonly #fired = new Map<TriggeredFault, number>();

  /** Throws when a trigger names a route not in `routeNames`, so a typo cannot silently disable a fault. */
  constructor(faults: SimulatorFaults, seed: number, routeNames: readonly string[]) {
    for (const kind of TRIGGERED_FAULTS) {
      const unknown = (faults[kind]?.routes ?? []).filter((name) => !routeNames.includes(name));
      if (unknown.length > 0)
        throw new Error(`faults.${kind}.routes: unknown route ${unknown.join(', ')}; known: ${routeNames.join(', ')}`);
    }
    this.faults = faults;
    this.#random = createPrng(seed ^ 0xfa17);
  }

  /** Whether the fault fires for this request to `route`; requests to routes it does not target are not counted. */
  fires(kind: TriggeredFault, route: string): boolean {
    const trigger: FaultTrigger | undefined = this.faults[kind];
    if (trigger === undefined) return false;
    if (trigger.routes !== undefined && !trigger.routes.includes(route)) return false;
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
