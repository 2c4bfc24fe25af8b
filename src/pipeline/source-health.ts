import type { Clock } from '../core/clock.js';
import { CLOUDFLARE_DATASETS } from '../sources/cloudflare/datasets/catalogue.js';
import type { SearchFilter } from '../store/search-query.js';
import type { DatasetStatus, Store, StoredSource } from '../store/store.js';
import { datasetJobId, isDatasetJobOf } from '../core/job-id.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
// More buckets than the catalogue has datasets, so no dataset's count is cut off.
const DATASET_BUCKETS = 100;

export interface DatasetHealth {
  readonly source: string;
  readonly dataset: string;
  readonly kind: 'log' | 'inventory';
  readonly required: boolean;
  /**
   * `backfilling`: collection began (its cursor is committed before the first request) but no pull has caught up
   * yet, as during a first backfill or after one that was stopped part way; the next run resumes it.
   */
  readonly state: DatasetStatus['state'] | 'backfilling' | 'not_collected';
  readonly lastSuccessAt: string | null;
  /** How far the stored data trails now: newest event for logs, last snapshot for inventories. */
  readonly lagSecs: number | null;
  readonly eventsLastHour: number;
  readonly eventsLast24h: number;
  readonly lastErrorCode: string | null;
  readonly lastError: string | null;
}

type HealthApp = { readonly store: Store; readonly clock: Clock };

/** A paused source keeps its cursors and events; the collector skips it until it is resumed. */
export function isSourcePaused(stored: StoredSource): boolean {
  return stored.settings['paused'] === true;
}

/**
 * The health of every dataset of one source, including those never collected. Two grouped counts per source
 * (last hour, last 24 hours) and one bounded newest-event lookup per log dataset with recent events; `older`
 * answers for a log dataset with nothing in the last 24 hours, whose newest event otherwise means a walk back
 * through the whole time index.
 */
export async function sourceHealth(
  app: HealthApp,
  stored: StoredSource,
  older: (dataset: string, beforeMs: number) => Promise<number | null> = (dataset, beforeMs) =>
    newestEventMs(app.store, stored.name, dataset, undefined, beforeMs),
): Promise<readonly DatasetHealth[]> {
  const nowMs = app.clock.now();
  const dayFromMs = nowMs - DAY_MS;
  const statuses = new Map((await app.store.datasetStatuses()).map((status) => [status.id, status]));
  const ofSource = term('source', stored.name);
  const perDataset = async (fromMs: number): Promise<ReadonlyMap<string, number>> => {
    const buckets = await app.store.aggregate({ filter: ofSource, fromMs, groupBy: 'dataset', limit: DATASET_BUCKETS });
    return new Map(buckets.map((bucket) => [bucket.key ?? '', bucket.count]));
  };
  const lastDay = await perDataset(dayFromMs);
  const lastHour = await perDataset(nowMs - HOUR_MS);
  const rows: DatasetHealth[] = [];
  for (const [dataset, entry] of Object.entries(CLOUDFLARE_DATASETS)) {
    const status = statuses.get(datasetJobId(stored.name, dataset));
    const eventsLast24h = lastDay.get(dataset) ?? 0;
    let freshestMs: number | null;
    if (entry.kind === 'inventory') {
      freshestMs = (await app.store.inventorySnapshot(stored.name, dataset))?.takenAt ?? null;
    } else if (eventsLast24h > 0) {
      freshestMs = await newestEventMs(app.store, stored.name, dataset, dayFromMs, undefined);
    } else {
      freshestMs = await older(dataset, dayFromMs);
    }
    rows.push({
      source: stored.name,
      dataset,
      kind: entry.kind,
      required: entry.required,
      state: status?.state ?? (await collectionStarted(app.store, stored.name, dataset)),
      lastSuccessAt: status?.lastSuccessAt == null ? null : new Date(status.lastSuccessAt).toISOString(),
      lagSecs: freshestMs === null ? null : Math.max(0, Math.round((nowMs - freshestMs) / 1000)),
      eventsLastHour: lastHour.get(dataset) ?? 0,
      eventsLast24h,
      lastErrorCode: status?.lastErrorCode ?? null,
      lastError: status?.lastErrorMessage ?? null,
    });
  }
  return rows;
}

// The page polls every few seconds and several people may have it open; counts this old are still accurate
// enough for a health view, and the collector's interval is longer anyway.
const HEALTH_TTL_MS = 10_000;
// The newest event of a dataset quiet for a day changes only when new events arrive (and then they are in the
// last 24 hours) or retention removes it; an hour bounds how long the latter can go unnoticed.
const OLDER_NEWEST_TTL_MS = HOUR_MS;

/**
 * Source health for a server: each source's rows are computed at most once per TTL however many pages poll,
 * and concurrent requests share one computation. `forget` drops a source after it was changed.
 */
export class SourceHealthCache {
  readonly #app: HealthApp;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { readonly at: number; readonly rows: Promise<readonly DatasetHealth[]> }>();
  readonly #older = new Map<string, { readonly at: number; readonly ms: number | null }>();

  constructor(app: HealthApp, ttlMs: number = HEALTH_TTL_MS) {
    this.#app = app;
    this.#ttlMs = ttlMs;
  }

  health(stored: StoredSource): Promise<readonly DatasetHealth[]> {
    const nowMs = this.#app.clock.now();
    const cached = this.#entries.get(stored.name);
    if (cached !== undefined && nowMs - cached.at < this.#ttlMs) return cached.rows;
    const rows = sourceHealth(this.#app, stored, (dataset, beforeMs) => this.#olderNewest(stored, dataset, beforeMs));
    // A failed computation is not kept: the next poll tries again.
    rows.catch(() => this.#entries.delete(stored.name));
    this.#entries.set(stored.name, { at: nowMs, rows });
    return rows;
  }

  forget(name: string): void {
    this.#entries.delete(name);
    for (const key of this.#older.keys()) if (isDatasetJobOf(key, name)) this.#older.delete(key);
  }

  async #olderNewest(stored: StoredSource, dataset: string, beforeMs: number): Promise<number | null> {
    const key = datasetJobId(stored.name, dataset);
    const nowMs = this.#app.clock.now();
    const cached = this.#older.get(key);
    if (cached !== undefined && nowMs - cached.at < OLDER_NEWEST_TTL_MS) return cached.ms;
    const ms = await newestEventMs(this.#app.store, stored.name, dataset, undefined, beforeMs);
    this.#older.set(key, { at: nowMs, ms });
    return ms;
  }
}

/** The state of a dataset without a status row: none is written until a pull has caught up or failed. */
export async function collectionStarted(
  store: Pick<Store, 'cursor'>,
  sourceName: string,
  dataset: string,
): Promise<'backfilling' | 'not_collected'> {
  return (await store.cursor(datasetJobId(sourceName, dataset))) === undefined ? 'not_collected' : 'backfilling';
}

async function newestEventMs(
  store: Store,
  source: string,
  dataset: string,
  fromMs: number | undefined,
  toMs: number | undefined,
): Promise<number | null> {
  const page = await store.search(
    {
      filter: and(term('source', source), term('dataset', dataset)),
      order: 'desc',
      ...(fromMs === undefined ? {} : { fromMs }),
      ...(toMs === undefined ? {} : { toMs }),
    },
    { limit: 1 },
  );
  return page.events[0]?.time ?? null;
}

function term(field: 'source' | 'dataset', value: string): SearchFilter {
  return { kind: 'term', field, value, wildcard: false };
}

function and(left: SearchFilter, right: SearchFilter): SearchFilter {
  return { kind: 'and', left, right };
}
