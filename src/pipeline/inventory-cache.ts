import type { NormalizedEvent } from '../core/event.js';
import type { InventoryEntity, InventoryKind } from '../core/inventory.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import {
  buildInventoryView,
  enrichAccessEvent,
  type InventorySnapshotView,
  type InventoryView,
} from '../normalize/enrich.js';
import { byKindAndId, sameApartFromVolatile } from '../normalize/inventory-changes.js';
import type { InventorySnapshot, Store } from '../store/store.js';

// The inventory datasets whose entities say something about an access event.
export const ENRICHING_DATASETS = ['apps', 'identity_providers', 'access_users', 'groups'] as const;

// Kinds whose enrichments each add up several entities: a user's group memberships are inferred from the rules
// of every group, so a change to any group may change them all.
const COMBINED_KINDS: ReadonlySet<InventoryKind> = new Set(['group']);

/**
 * The snapshot with, per entity, the time of the earliest snapshot in the unbroken run this cache loaded that
 * showed it just as this one does (volatile fields such as a user's last login aside). An enrichment names that
 * time, so its text stays the same from one refresh of the inventory to the next while its facts do, and the
 * store keeps it once instead of once per refresh. For a combined kind the run is that of all its entities.
 */
function withUnchangedSince(
  previous: InventorySnapshotView | undefined,
  snapshot: InventorySnapshot,
): InventorySnapshotView {
  const view = { dataset: snapshot.dataset, takenAt: snapshot.takenAt, entities: snapshot.entities };
  // Only a snapshot at least as new continues the run; one loaded out of order starts its own.
  if (previous === undefined || !(snapshot.takenAt >= previous.takenAt)) return view;
  // The later copy of an entity listed twice is the one enrichment uses, so it is the one compared.
  const before = byKindAndId(previous.entities);
  const after = byKindAndId(snapshot.entities);
  const since = new Map<InventoryEntity, number>();
  const changedKinds = new Set<InventoryKind>();
  for (const [key, entity] of after) {
    const old = before.get(key);
    if (old !== undefined && sameApartFromVolatile(old, entity)) {
      since.set(entity, previous.unchangedSince?.get(old) ?? previous.takenAt);
    } else {
      changedKinds.add(entity.kind);
    }
  }
  for (const [key, old] of before) if (!after.has(key)) changedKinds.add(old.kind);
  for (const entity of after.values()) {
    if (COMBINED_KINDS.has(entity.kind) && changedKinds.has(entity.kind)) since.delete(entity);
  }
  return { ...view, unchangedSince: since };
}

/**
 * The latest inventory of each source, held in memory so that enriching an access event is a few map
 * lookups: it never waits for the network or the database. Until a source's first snapshot is loaded its
 * events are stored without enrichment; a first collection holds them back meanwhile (see first-snapshots.ts).
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
    bySource.set(snapshot.dataset, withUnchangedSince(bySource.get(snapshot.dataset), snapshot));
    this.#views.set(snapshot.sourceName, buildInventoryView([...bySource.values()]));
  }

  /** Whether any enriching snapshot of the source is loaded: its access events are enriched from it. */
  knows(sourceName: string): boolean {
    return this.#views.has(sourceName);
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
