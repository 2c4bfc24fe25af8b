import type { AppConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { sleep } from '../core/retry.js';
import type { Store } from '../store/store.js';

/** The store setting an admin's retention choice is kept under; it overrides `retention.max_age_days`. */
export const RETENTION_SETTING = 'retention_max_age_days';
/** The range an admin may choose; the config file allows the same. */
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 36_500;

export interface RetentionPolicy {
  readonly maxAgeDays: number;
  /** `settings`: chosen by an admin in the UI; `config`: the config file's value (or its default). */
  readonly origin: 'settings' | 'config';
  readonly configMaxAgeDays: number;
}

/**
 * How long events are kept: the admin's setting when there is a valid one, else the config. A stored value
 * outside the range (written by hand, say) is ignored rather than obeyed, so it can never delete everything.
 */
export async function retentionPolicy(app: {
  readonly store: Store;
  readonly config: AppConfig;
}): Promise<RetentionPolicy> {
  const configMaxAgeDays = app.config.retention.maxAgeDays;
  const stored = await app.store.getSetting(RETENTION_SETTING);
  const days = stored === undefined ? Number.NaN : Number(stored);
  if (Number.isInteger(days) && days >= MIN_RETENTION_DAYS && days <= MAX_RETENTION_DAYS) {
    return { maxAgeDays: days, origin: 'settings', configMaxAgeDays };
  }
  return { maxAgeDays: configMaxAgeDays, origin: 'config', configMaxAgeDays };
}

const DAY_MS = 86_400_000;
// Hourly keeps each delete small without letting old data linger, and is what Settings and the API promise.
export const RETENTION_INTERVAL_MS = 3_600_000;

/** What a retention run needs of the opened installation. */
export interface RetentionDeps {
  readonly store: Store;
  readonly config: AppConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The oldest event time kept now, epoch ms: retention deletes what is older, and collection reads none of it, so
 * that nothing is stored only to be deleted, and nothing retention deleted comes back as new.
 */
export async function retentionCutoff(app: Pick<RetentionDeps, 'store' | 'config' | 'clock'>): Promise<number> {
  return cutoffFor((await retentionPolicy(app)).maxAgeDays, app.clock.now());
}

/** The oldest event time a retention of `maxAgeDays` keeps at `nowMs`. */
export function cutoffFor(maxAgeDays: number, nowMs: number): number {
  return nowMs - maxAgeDays * DAY_MS;
}

/** Deletes events older than the retention an admin chose in Settings, or else the config's. */
export async function applyRetention(app: RetentionDeps): Promise<void> {
  const { maxAgeDays, origin } = await retentionPolicy(app);
  const deleted = await app.store.deleteEventsBefore(cutoffFor(maxAgeDays, app.clock.now()));
  if (deleted > 0) app.logger.info({ deleted, maxAgeDays, origin }, 'Retention deleted old events');
}

/**
 * Applies retention at once and then every `everyMs` until `signal` aborts; resolves then. Every long-running
 * process that opens the store runs it, collecting or not, so a retention an admin shortens takes effect within
 * the hour even where nothing collects. Several processes on one PostgreSQL store each run it: a run deletes only
 * what is older than the cut-off, so one after another finds little or nothing left, and their partition drops
 * take one lock in turn. A failed run is logged and counted, and the next one tries again.
 */
export async function keepRetention(
  app: RetentionDeps & { readonly metrics: Metrics },
  signal: AbortSignal,
  everyMs = RETENTION_INTERVAL_MS,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await applyRetention(app);
    } catch (error) {
      app.metrics.increment('retention_runs_failed_total');
      app.logger.warn({ err: error }, 'Retention run failed; tried again at the next run');
    }
    await sleep(everyMs, signal).catch(() => undefined);
  }
}
