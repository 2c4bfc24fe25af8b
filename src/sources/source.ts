import type { ComponentContext } from '../core/context.js';
import type { InventoryEntity, InventoryKind } from '../core/inventory.js';

export type { InventoryEntity, InventoryKind } from '../core/inventory.js';

/** A position in one dataset's stream. JSON-serialisable; only its source understands its shape. */
export type SourceCursor = Readonly<Record<string, unknown>>;

/** One page of records exactly as the API returned them, with the cursor that follows it. */
export interface RawPage {
  readonly records: readonly unknown[];
  readonly nextCursor: SourceCursor;
  /** What an earlier pull already read of this page's window; absent where a dataset rereads nothing. */
  readonly reread?: Reread;
}

/**
 * The part of a window that a pull reads again, since records can appear upstream after their time. A record
 * older than `readBeforeMs` that is new to the store was not there when an earlier pull read, at `readAtMs`, that
 * time: it arrived at least `readAtMs - time` late. Arriving later than `lookbackMs` it would have been missed.
 */
export interface Reread {
  readonly readBeforeMs: number;
  readonly readAtMs: number;
  readonly lookbackMs: number;
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
   * `cursor` held so that its pulls read nothing older than `floorMs` and everything from it on: a position before
   * it moves up to it, and the lookback never reaches behind it; later cursors keep the floor. A cursor already
   * past it comes back as it was. The pipeline holds every pull to the retention cut-off with it; a source
   * without it is pulled from its cursor as it stands.
   */
  withFloor?(cursor: SourceCursor, floorMs: number): SourceCursor;
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
