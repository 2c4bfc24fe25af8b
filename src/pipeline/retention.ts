import type { AppConfig } from '../config/schema.js';
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
