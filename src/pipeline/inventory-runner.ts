import { jsonTextOf, MAX_VALUE_DEPTH, nestedDeeperThan } from '../core/deep-json.js';
import type { InventoryEntity } from '../core/inventory.js';
import { diffInventory } from '../normalize/inventory-changes.js';
import { flatString } from '../normalize/schema.js';
import type { InventorySource } from '../sources/source.js';
import type { InventoryCache } from './inventory-cache.js';
import type { PullTotals, RunnerDeps } from './runner.js';

/** One inventory dataset of one data source, as the pipeline schedules it. */
export interface InventoryJob {
  readonly kind: 'inventory';
  /** `<source name>/<dataset>`: the status key. */
  readonly id: string;
  readonly sourceName: string;
  readonly accountId: string;
  /** When the source was added: with the name and account, what tells it from a source that later takes its name. */
  readonly sourceCreatedAt?: number;
  /** A required dataset missing its permission fails collection; an optional one is reported and skipped. */
  readonly required: boolean;
  readonly source: InventorySource;
}

export interface SnapshotStored {
  readonly jobId: string;
  readonly entities: number;
  readonly changes: number;
  readonly takenAt: number;
}

/**
 * `entity` as the stores can keep it. Its name is indexed, so it is capped as a flat field is (its attributes
 * keep it whole). Attributes nested deeper than any real object (see core/deep-json.ts) become their exact JSON
 * text under `json_text`: the snapshot, its diff and its change events then compare and store that text instead
 * of overflowing the stack, and the dataset keeps being collected.
 */
function writableEntity(entity: InventoryEntity): InventoryEntity {
  const name = flatString(entity.name);
  const deep = nestedDeeperThan(entity.attributes, MAX_VALUE_DEPTH);
  if (name === entity.name && !deep) return entity;
  return { ...entity, name, ...(deep ? { attributes: { json_text: jsonTextOf(entity.attributes) } } : {}) };
}

/**
 * Reads the whole current state of one inventory dataset, compares it with the stored one and saves the new
 * state together with one change event per difference. The first snapshot of a dataset is the baseline and
 * yields no change events: nothing is known about what came before it.
 */
export async function takeSnapshot(
  job: InventoryJob,
  deps: RunnerDeps & { readonly inventoryCache?: InventoryCache },
  options: { readonly signal: AbortSignal; readonly onSnapshotStored?: (snapshot: SnapshotStored) => void },
): Promise<PullTotals> {
  const labels = { source: job.sourceName, dataset: job.source.dataset };
  const previous = await deps.store.inventorySnapshot(job.sourceName, job.source.dataset);
  const entities = (await job.source.snapshot(options.signal)).map(writableEntity);
  const takenAt = deps.clock.now();
  const changes = diffInventory(previous?.entities, entities, {
    sourceName: job.sourceName,
    accountId: job.accountId,
    dataset: job.source.dataset,
    takenAt,
    previousTakenAt: previous?.takenAt ?? null,
  });
  const snapshot = { sourceName: job.sourceName, dataset: job.source.dataset, takenAt, entities };
  const result = await deps.store.saveInventorySnapshot(snapshot, changes);
  deps.inventoryCache?.update(snapshot);
  // Change events are stored apart from the log batches; without this they would wait for the next log event.
  deps.detector?.notify();
  deps.metrics.increment('source_inventory_entities_received_total', labels, entities.length);
  deps.metrics.increment('pipeline_events_stored_total', labels, result.inserted);
  deps.logger.debug(
    { jobId: job.id, entities: entities.length, changes: result.inserted },
    'Inventory snapshot stored',
  );
  options.onSnapshotStored?.({ jobId: job.id, entities: entities.length, changes: result.inserted, takenAt });
  return { pages: 1, received: entities.length, inserted: result.inserted, duplicates: result.duplicates, rejected: 0 };
}
