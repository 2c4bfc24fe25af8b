import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** What every component factory receives; components never reach for globals. */
export interface ComponentContext {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly signal: AbortSignal;
  /** A request budget shared with every process on the same store; without it each process keeps its own. */
  readonly sharedRateBudget?: SharedRateBudget;
}

/**
 * A budget of requests shared by every process using one API token: `capacity` requests per `windowMs`,
 * refilled evenly. The store keeps it; a source asks it before each request.
 */
export interface SharedRateBudget {
  /** Takes one request from the bucket `key`; resolves 0 when taken, else the milliseconds until one will be. */
  takeRateToken(key: string, capacity: number, windowMs: number): Promise<number>;
  /** Lets no request be taken from the bucket `key` for `holdMs`, as a 429's Retry-After asks of every user. */
  holdRateTokens(key: string, holdMs: number, capacity: number, windowMs: number): Promise<void>;
}
