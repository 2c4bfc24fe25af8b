import type { Clock } from '../core/clock.js';
import { isRejected, type NormalizedEvent } from '../core/event.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Normalizer } from '../normalize/schema.js';
import type { RawPage, Source, SourceCursor } from '../sources/source.js';
import type { Store } from '../store/store.js';

/** One dataset of one data source, as the pipeline schedules it. */
export interface DatasetJob {
  readonly kind: 'log';
  /** `<source name>/<dataset>`: the cursor and status key. */
  readonly id: string;
  readonly sourceName: string;
  readonly accountId: string;
  /** A required dataset missing its permission fails collection; an optional one is reported and skipped. */
  readonly required: boolean;
  readonly source: Source;
  readonly normalize: Normalizer;
  /** Adds what the inventory knows to each event; must not wait on I/O. */
  readonly enrich?: (event: NormalizedEvent) => NormalizedEvent;
}

export interface PageStored {
  readonly jobId: string;
  readonly received: number;
  readonly inserted: number;
  readonly duplicates: number;
  readonly rejected: number;
  /** Newest event time in the page, epoch ms; null when the page held no events. */
  readonly newestEventMs: number | null;
  readonly oldestEventMs: number | null;
}

export interface PullTotals {
  readonly pages: number;
  readonly received: number;
  readonly inserted: number;
  readonly duplicates: number;
  readonly rejected: number;
}

export interface RunnerDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Told after each batch that stored new events; it evaluates them on its own time. */
  readonly detector?: { notify(): void };
}

// Pages that arrive back to back are committed together up to this many events: a backfill then pays the
// per-commit cost (rewritten WAL pages, the summary's upserts, the merge check) once per several pages.
const MAX_BATCH_EVENTS = 5_000;
// A batch is committed as soon as the next page takes longer than this to arrive, so a slow API or a retry
// never holds stored events back for long.
const BATCH_WAIT_MS = 200;

/** Events normalized from pages not yet committed, with the cursor after the last of them. */
interface Batch {
  readonly events: NormalizedEvent[];
  cursor: SourceCursor;
  pages: number;
  received: number;
  rejected: number;
  newestEventMs: number | null;
  oldestEventMs: number | null;
}

/**
 * Pulls one dataset from its committed cursor until the source is caught up. The events of one or more pages
 * and the cursor after the last of them are committed in one store transaction, so a crash at any point
 * resumes exactly after the last stored page: nothing lost, and the unique event id makes a replayed page
 * harmless. A failing pull commits what it had received before the failure is passed on.
 */
export async function pullUntilCaughtUp(
  job: DatasetJob,
  deps: RunnerDeps,
  options: {
    readonly backfillFromMs: number;
    readonly signal: AbortSignal;
    readonly onPageStored?: (page: PageStored) => void;
  },
): Promise<PullTotals> {
  const labels = { source: job.sourceName, dataset: job.source.dataset };
  const committed = await deps.store.cursor(job.id);
  const cursor: SourceCursor = committed ?? job.source.initialCursor({ backfillFromMs: options.backfillFromMs });
  const meta = { sourceName: job.sourceName, accountId: job.accountId, dataset: job.source.dataset };
  let totals: PullTotals = { pages: 0, received: 0, inserted: 0, duplicates: 0, rejected: 0 };
  let batch: Batch | undefined;

  const commit = async (stored: Batch): Promise<void> => {
    batch = undefined;
    if (stored.rejected > 0) {
      deps.logger.warn({ jobId: job.id, rejected: stored.rejected }, 'Records rejected by the normalizer');
    }
    const result = await deps.store.append(stored.events, { id: job.id, value: stored.cursor });
    if (result.inserted > 0) deps.detector?.notify();
    deps.metrics.increment('source_events_received_total', labels, stored.received);
    deps.metrics.increment('pipeline_events_stored_total', labels, result.inserted);
    deps.metrics.increment('pipeline_events_duplicate_total', labels, result.duplicates);
    totals = {
      pages: totals.pages + stored.pages,
      received: totals.received + stored.received,
      inserted: totals.inserted + result.inserted,
      duplicates: totals.duplicates + result.duplicates,
      rejected: totals.rejected + stored.rejected,
    };
    deps.logger.debug(
      { jobId: job.id, ...result, rejected: stored.rejected, received: stored.received, pages: stored.pages },
      'Batch stored',
    );
    options.onPageStored?.({
      jobId: job.id,
      received: stored.received,
      inserted: result.inserted,
      duplicates: result.duplicates,
      rejected: stored.rejected,
      newestEventMs: stored.newestEventMs,
      oldestEventMs: stored.oldestEventMs,
    });
  };

  const pages = prefetchOne(job.source.pull(cursor, options.signal))[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = pages.next();
      if (batch !== undefined && !(await settlesWithin(next, BATCH_WAIT_MS))) await commit(batch);
      let current: IteratorResult<RawPage>;
      try {
        current = await next;
      } catch (error) {
        // What arrived before the failure is stored with its cursor; the failed page is asked for again later.
        if (batch !== undefined) await commit(batch);
        throw error;
      }
      if (current.done === true) break;
      const page = current.value;
      batch ??= {
        events: [],
        cursor: page.nextCursor,
        pages: 0,
        received: 0,
        rejected: 0,
        newestEventMs: null,
        oldestEventMs: null,
      };
      for (const record of page.records) {
        const outcome = job.normalize(record, meta);
        if (isRejected(outcome)) {
          batch.rejected++;
          deps.metrics.increment('pipeline_events_rejected_total', { ...labels, reason: outcome.reason });
          continue;
        }
        batch.events.push(job.enrich === undefined ? outcome : job.enrich(outcome));
        if (batch.newestEventMs === null || outcome.time > batch.newestEventMs) batch.newestEventMs = outcome.time;
        if (batch.oldestEventMs === null || outcome.time < batch.oldestEventMs) batch.oldestEventMs = outcome.time;
      }
      batch.cursor = page.nextCursor;
      batch.pages += 1;
      batch.received += page.records.length;
      if (batch.events.length >= MAX_BATCH_EVENTS) await commit(batch);
    }
    if (batch !== undefined) await commit(batch);
  } finally {
    await pages.return?.(undefined);
  }
  return totals;
}

// True when `promise` settles (either way) within `ms`; the wait ends as soon as it does.
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = promise.then(
    () => true,
    () => true,
  );
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts fetching the next page while the current one is normalized and written, so network time and
 * database time overlap. Order is kept and only one page is ever buffered, so memory stays flat.
 */
export async function* prefetchOne(pages: AsyncIterable<RawPage>): AsyncGenerator<RawPage> {
  const iterator = pages[Symbol.asyncIterator]();
  let pending = iterator.next();
  try {
    for (;;) {
      const current = await pending;
      if (current.done === true) return;
      pending = iterator.next();
      // A rejection of the prefetched page surfaces when it is awaited above; this only stops Node from
      // reporting it as unhandled while the current page is still being processed.
      pending.catch(() => undefined);
      yield current.value;
    }
  } finally {
    await iterator.return?.();
  }
}
