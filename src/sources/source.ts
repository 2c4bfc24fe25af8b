import type { ComponentContext } from '../core/context.js';
import type { InventoryEntity, InventoryKind } from '../core/inventory.js';

export type { InventoryEntity, InventoryKind } from '../core/inventory.js';

/** A position in one dataset's stream. JSON-serialisable; only its source understands its shape. */
export type SourceCursor = Readonly<Record<string, unknown>>;

/** One page of records exactly as the API returned them, with the cursor that follows it. */
export interface RawPage {
  readonly records: readonly unknown[];
  readonly nextCursor: SourceCursor;
}

/**
 * One dataset of one upstream account. It fetches pages and nothing else: it never stores its cursor
 * or schedules itself; the pipeline commits `nextCursor` together with the page's events.
 */
export interface Source {
  readonly dataset: string;
  start(): Promise<void>;
  /** Idempotent, safe before `start`. */
  stop(): Promise<void>;
  /** Where a dataset with no committed cursor starts: `backfillFromMs` is the oldest event time wanted. */
  initialCursor(options: { readonly backfillFromMs: number }): SourceCursor;
  /**
   * Pages from `cursor` until the dataset is caught up. When there is nothing new a time-window dataset yields one
   * page without records whose cursor records how far it read; others may end without yielding.
   */
  pull(cursor: SourceCursor, signal: AbortSignal): AsyncIterable<RawPage>;
}

/** Everything one configured upstream account offers, one entry per dataset. */
export interface SourceDatasets {
  readonly logs: readonly Source[];
  readonly inventories: readonly InventorySource[];
}

export interface SourceFactory<Config> {
  readonly type: string;
  create(config: Config, ctx: ComponentContext): SourceDatasets;
}

/**
 * One inventory dataset of one upstream account (users, identity providers, Gateway rules…). It reads the
 * whole current state, following every page, and nothing else: the pipeline schedules snapshots, compares
 * each with the previous one and stores both the state and the change events together.
 */
export interface InventorySource {
  readonly dataset: string;
  readonly kinds: readonly InventoryKind[];
  start(): Promise<void>;
  /** Idempotent, safe before `start`. */
  stop(): Promise<void>;
  /** Every entity of the dataset's kinds; throws rather than return a partial list. */
  snapshot(signal: AbortSignal): Promise<readonly InventoryEntity[]>;
}
