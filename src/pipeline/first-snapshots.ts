import type { InventoryJob } from './inventory-runner.js';
import { ENRICHING_DATASETS, type InventoryCache } from './inventory-cache.js';
import type { DatasetJob } from './runner.js';

/** The longest the enriched logs of a source wait for its first inventory snapshots. */
export const FIRST_SNAPSHOTS_WAIT_MS = 60_000;

/**
 * Holds back the enriched logs (Access events) of a source the inventory cache knows nothing of, its first run,
 * until the first snapshot of each of its enriching inventory datasets run here has been tried: otherwise the
 * first pages of its backfill are stored before any snapshot and stay without enrichment, unlike the rest. The
 * wait ends when every such snapshot was stored or failed, and after FIRST_SNAPSHOTS_WAIT_MS at most.
 */
export class FirstSnapshots {
  /** Per source, the inventory jobs whose first snapshot has not been tried yet. */
  readonly #pending = new Map<string, Set<string>>();
  readonly #waiters = new Map<string, (() => void)[]>();

  constructor(jobs: readonly (DatasetJob | InventoryJob)[], cache: InventoryCache | undefined) {
    if (cache === undefined) return;
    for (const job of jobs) {
      if (job.kind !== 'inventory' || cache.knows(job.sourceName)) continue;
      if (!(ENRICHING_DATASETS as readonly string[]).includes(job.source.dataset)) continue;
      let pending = this.#pending.get(job.sourceName);
      if (pending === undefined) {
        pending = new Set();
        this.#pending.set(job.sourceName, pending);
      }
      pending.add(job.id);
    }
  }

  /** The first snapshot of `job` was stored, or failed: it holds back nothing any more. */
  tried(job: InventoryJob): void {
    const pending = this.#pending.get(job.sourceName);
    if (pending === undefined || !pending.delete(job.id) || pending.size > 0) return;
    this.#pending.delete(job.sourceName);
    for (const release of this.#waiters.get(job.sourceName) ?? []) release();
    this.#waiters.delete(job.sourceName);
  }

  /** Resolves once `job` may store its first page: at once unless it is enriched and its source's inventory is new. */
  async before(job: DatasetJob, signal: AbortSignal, waitMs = FIRST_SNAPSHOTS_WAIT_MS): Promise<void> {
    if (job.enrich === undefined || !this.#pending.has(job.sourceName)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      signal.addEventListener('abort', done, { once: true });
      const waiters = this.#waiters.get(job.sourceName) ?? [];
      waiters.push(done);
      this.#waiters.set(job.sourceName, waiters);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}
