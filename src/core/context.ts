import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** What every component factory receives; components never reach for globals. */
export interface ComponentContext {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly signal: AbortSignal;
}
