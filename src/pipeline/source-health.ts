import type { Clock } from '../core/clock.js';
import { CLOUDFLARE_DATASETS } from '../sources/cloudflare/datasets/catalogue.js';
import type { SearchFilter } from '../store/search-query.js';
import type { DatasetStatus, Store, StoredSource } from '../store/store.js';

const DAY_MS = 86_400_000;

export interface DatasetHealth {
  readonly source: string;
  readonly dataset: string;
  readonly kind: 'log' | 'inventory';
  readonly required: boolean;
  readonly state: DatasetStatus['state'] | 'not_collected';
  readonly lastSuccessAt: string | null;
  /** How far the stored data trails now: newest event for logs, last snapshot for inventories. */
  readonly lagSecs: number | null;
  readonly eventsLast24h: number;
  readonly lastErrorCode: string | null;
  readonly lastError: string | null;
}

/** The health of every dataset of one source, including those never collected. */
export async function sourceHealth(
  app: { readonly store: Store; readonly clock: Clock },
  stored: StoredSource,
): Promise<readonly DatasetHealth[]> {
  const nowMs = app.clock.now();
  const statuses = new Map((await app.store.datasetStatuses()).map((status) => [status.id, status]));
  const rows: DatasetHealth[] = [];
  for (const [dataset, entry] of Object.entries(CLOUDFLARE_DATASETS)) {
    const status = statuses.get(`${stored.name}/${dataset}`);
    const filter = and(term('source', stored.name), term('dataset', dataset));
    const eventsLast24h = await app.store.count({ filter, fromMs: nowMs - DAY_MS });
    let freshestMs: number | null;
    if (entry.kind === 'inventory') {
      freshestMs = (await app.store.inventorySnapshot(stored.name, dataset))?.takenAt ?? null;
    } else {
      const newest = await app.store.search({ filter, order: 'desc' }, { limit: 1 });
      freshestMs = newest.events[0]?.time ?? null;
    }
    rows.push({
      source: stored.name,
      dataset,
      kind: entry.kind,
      required: entry.required,
      state: status?.state ?? 'not_collected',
      lastSuccessAt: status?.lastSuccessAt == null ? null : new Date(status.lastSuccessAt).toISOString(),
      lagSecs: freshestMs === null ? null : Math.max(0, Math.round((nowMs - freshestMs) / 1000)),
      eventsLast24h,
      lastErrorCode: status?.lastErrorCode ?? null,
      lastError: status?.lastErrorMessage ?? null,
    });
  }
  return rows;
}

function term(field: 'source' | 'dataset', value: string): SearchFilter {
  return { kind: 'term', field, value, wildcard: false };
}

function and(left: SearchFilter, right: SearchFilter): SearchFilter {
  return { kind: 'and', left, right };
}
