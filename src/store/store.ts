import type { NormalizedEvent } from '../core/event.js';
import type { InventoryEntity, InventoryKind } from '../core/inventory.js';
import type { SourceCursor } from '../sources/source.js';
import type { DetectionStore } from './detection-store.js';
import type { LeaseFence, LeaseStore } from './lease-store.js';
import type { SharedRateBudget } from './rate-bucket.js';
import type { DashboardSpec, DashboardSummary } from './dashboard-summary.js';
import type { PageRequest, SearchField, SearchFilter, SearchQuery } from './search-query.js';

export interface CursorUpdate {
  /** `<source name>/<dataset>` */
  readonly id: string;
  readonly value: SourceCursor;
  /** When given, the append stores nothing (STORE_LEASE_LOST) unless this still holds the dataset's lease. */
  readonly fence?: LeaseFence;
}

export interface AppendResult {
  readonly inserted: number;
  /** Events already stored under the same id; ignored by construction (unique key). */
  readonly duplicates: number;
  /**
   * The earliest time among the events that went in, epoch ms; null when none did. A new event older than what an
   * earlier read already covered arrived upstream late, and by how much tells whether the lookback is wide enough.
   */
  readonly oldestInsertedMs: number | null;
}

export interface SearchPage {
  readonly events: readonly NormalizedEvent[];
  readonly nextPage: string | null;
}

/** One read of a follow: events in the order they were stored, and where the next read starts. */
export interface FollowPage {
  readonly events: readonly NormalizedEvent[];
  /** Never null, so a poller can always resume, even from an empty read at the end of the store. */
  readonly next: string;
  /** Events were already stored past `next` (a full page, or a stretch the read did not reach): read again now. */
  readonly more: boolean;
}

export interface AggregateSpec {
  readonly filter: SearchFilter | null;
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly groupBy: SearchField;
  readonly limit: number;
}

export interface AggregateBucket {
  readonly key: string | null;
  readonly count: number;
}

export interface HistogramSpec {
  readonly filter: SearchFilter | null;
  /** Inclusive lower bound, epoch ms. */
  readonly fromMs: number;
  /** Exclusive upper bound, epoch ms. */
  readonly toMs: number;
  /** Each bucket starts at a multiple of this since the epoch, so buckets line up on round UTC times. */
  readonly bucketMs: number;
}

export interface HistogramBucket {
  /** Epoch ms, a multiple of the spec's `bucketMs`. */
  readonly startMs: number;
  readonly count: number;
}

/** A data source as configured by the user. The token is only ever held encrypted here. */
export interface StoredSource {
  readonly name: string;
  readonly type: 'cloudflare_zero_trust';
  readonly accountId: string;
  readonly tokenCiphertext: string;
  readonly tokenLastFour: string;
  readonly createdAt: number;
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface DatasetStatus {
  /** `<source name>/<dataset>` */
  readonly id: string;
  readonly state: 'ok' | 'retrying' | 'failed';
  readonly lastSuccessAt: number | null;
  readonly lastErrorAt: number | null;
  readonly lastErrorCode: string | null;
  readonly lastErrorMessage: string | null;
  readonly updatedAt: number;
}

/** The whole state of one inventory dataset of one source at one moment. */
export interface InventorySnapshot {
  readonly sourceName: string;
  readonly dataset: string;
  /** When the snapshot was taken, epoch ms. */
  readonly takenAt: number;
  readonly entities: readonly InventoryEntity[];
}

export interface StoredInventoryEntity extends InventoryEntity {
  readonly sourceName: string;
  readonly dataset: string;
  readonly takenAt: number;
}

/**
 * Everything zerotrail keeps. SQLite and PostgreSQL implement it and pass the same contract suite.
 * `append` writes the events and the cursor in one transaction and is idempotent on event id. It may iterate
 * `events` as it writes them rather than all at once (the collector normalizes a page that way, so each event's
 * objects die young), and again should it write again, so every iteration must yield the same events.
 */
export interface Store extends DetectionStore, LeaseStore, SharedRateBudget {
  migrate(): Promise<void>;
  append(events: Iterable<NormalizedEvent>, cursor: CursorUpdate): Promise<AppendResult>;
  cursor(id: string): Promise<SourceCursor | undefined>;
  /**
   * Time-ordered keyset paging, for browsing a period. An event stored after a page was read but with an earlier
   * time (a late Cloudflare event, or one of a same-millisecond burst stored over several commits) falls behind
   * the cursor, so this is not for following new events: `follow` is.
   */
  search(query: SearchQuery, page: PageRequest): Promise<SearchPage>;
  /**
   * Matching events stored after `page.after` (or since the store began, without it), in the order their commits
   * numbered them, which is the order they became visible: a follower that keeps passing `next` back gets every
   * stored event that matches exactly once, however late its time, as long as retention has not deleted it. A
   * read scans a bounded stretch of the order, so a sparse filter may answer few or no events with `more` set.
   */
  follow(query: Omit<SearchQuery, 'order'>, page: PageRequest): Promise<FollowPage>;
  /** A follow token for the current end of the store: following from it returns only events stored later. */
  followLatest(): Promise<string>;
  count(query: Omit<SearchQuery, 'order'>): Promise<number>;
  aggregate(spec: AggregateSpec): Promise<readonly AggregateBucket[]>;
  /** Matching events counted per time bucket: only buckets with events, oldest first. */
  histogram(spec: HistogramSpec): Promise<readonly HistogramBucket[]>;
  /** Deletes events older than `beforeMs`; returns how many. */
  deleteEventsBefore(beforeMs: number): Promise<number>;
  /** The dashboard over a period: authentications over time, top values, a count per country, new values. */
  dashboard(spec: DashboardSpec): Promise<DashboardSummary>;

  saveSource(source: StoredSource): Promise<void>;
  getSource(name: string): Promise<StoredSource | undefined>;
  listSources(): Promise<readonly StoredSource[]>;
  /** Removes the source, its cursors and statuses (not its events); false when no such source. */
  removeSource(name: string): Promise<boolean>;
  /**
   * Replaces the account, token and settings of the source named `source.name`; false when no such source.
   * With `resetCollection` (another account) its cursors, statuses and inventory go in the same transaction.
   */
  updateSource(source: StoredSource, options: { readonly resetCollection: boolean }): Promise<boolean>;

  setDatasetStatus(status: DatasetStatus): Promise<void>;
  datasetStatuses(): Promise<readonly DatasetStatus[]>;

  /**
   * Replaces the stored state of one inventory dataset with `snapshot` and appends the change events that
   * lead to it, in one transaction: a crash leaves either the old state and no events, or both new.
   */
  saveInventorySnapshot(
    snapshot: InventorySnapshot,
    changes: readonly NormalizedEvent[],
    /** As for `append`: nothing is saved unless this still holds the lease of `<source>/<dataset>`. */
    fence?: LeaseFence,
  ): Promise<AppendResult>;
  /** The last stored snapshot of one inventory dataset of one source. */
  inventorySnapshot(sourceName: string, dataset: string): Promise<InventorySnapshot | undefined>;
  /** Current entities of one kind, across sources or for one, ordered by source then name. */
  listInventory(kind: InventoryKind, sourceName?: string): Promise<readonly StoredInventoryEntity[]>;

  /** A small key/value area for installation-wide facts (the secret key check value, for one). */
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
