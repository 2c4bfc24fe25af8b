import type { NormalizedEvent } from '../core/event.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import {
  buildInventoryView,
  enrichAccessEvent,
  type InventorySnapshotView,
  type InventoryView,
} from '../normalize/enrich.js';
import type { InventorySnapshot, Store } from '../store/store.js';

// The inventory datasets whose entities say something about an access event.
const ENRICHING_DATASETS = ['apps', 'identity_providers', 'access_users', 'groups'] as const;

/**
 * The latest inventory of each source, held in memory so that enriching an access event is a few map
 * lookups: it never waits for the network or the database. Until a source's first snapshot is loaded its
 * events are stored without enrichment.
 */
export class InventoryCache {
  readonly #snapshots = new Map<string, Map<string, InventorySnapshotView>>();
  readonly #views = new Map<string, InventoryView>();
  readonly #logger: Logger;
  readonly #metrics: Metrics;

  constructor(options: { readonly logger: Logger; readonly metrics: Metrics }) {
    this.#logger = options.logger.child({ component: 'inventory-cache' });
    this.#metrics = options.metrics;
  }

  /** Loads what the store already holds for these sources, so a restart enriches from its first event. */
  async load(store: Store, sourceNames: readonly string[]): Promise<void> {
    for (const sourceName of sourceNames) {
      for (const dataset of ENRICHING_DATASETS) {
        const snapshot = await store.inventorySnapshot(sourceName, dataset);
        if (snapshot !== undefined) this.update(snapshot);
      }
    }
  }

  update(snapshot: InventorySnapshot): void {
    if (!(ENRICHING_DATASETS as readonly string[]).includes(snapshot.dataset)) return;
    let bySource = this.#snapshots.get(snapshot.sourceName);
    if (bySource === undefined) {
      bySource = new Map();
      this.#snapshots.set(snapshot.sourceName, bySource);
    }
    bySource.set(snapshot.dataset, {
      dataset: snapshot.dataset,
      takenAt: snapshot.takenAt,
      entities: snapshot.entities,
    });
    this.#views.set(snapshot.sourceName, buildInventoryView([...bySource.values()]));
  }

  /** The event with what the inventory knows about it; the event unchanged when nothing is known or enrichment fails. */
  enrich(sourceName: string, event: NormalizedEvent): NormalizedEvent {
    const view = this.#views.get(sourceName);
    if (view === undefined) return event;
    try {
      return enrichAccessEvent(event, view);
    } catch (error) {
      // Enrichment is a convenience: the event is stored as collected rather than held back.
      this.#metrics.increment('pipeline_enrichment_failed_total', { source: sourceName });
      this.#logger.debug({ err: error, sourceName }, 'Enrichment failed');
      return event;
    }
  }
}
