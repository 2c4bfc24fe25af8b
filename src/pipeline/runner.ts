import type { Clock } from '../core/clock.js';
import type { NormalizedEvent } from '../core/event.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Normalizer } from '../normalize/schema.js';
import type { RawPage, Reread, Source, SourceCursor } from '../sources/source.js';
import type { Store } from '../store/store.js';
import { NormalizedPage } from './normalized-page.js';

/** One dataset of one data source, as the pipeline schedules it. */
export interface DatasetJob {
  readonly kind: 'log';
  /** `<source name>/<dataset>`: the cursor and status key. */
  readonly id: string;
  readonly sourceName: string;
  readonly accountId: string;
  /** When the source was added: with the name and account, what tells it from a source that later takes its name. */
  readonly sourceCreatedAt?: number;
  /** A required dataset missing its permission fails collection; an optional one is reported and skipped. */
  readonly required: boolean;
  readonly source: Source;
  readonly normalize: Normalizer;
  /** Adds what the inventory knows to each event; must not wait on I/O. */
  readonly enrich?: (event: NormalizedEvent) => NormalizedEvent;
  /** How far back the upstream keeps this dataset at most: a backfill asked to reach further starts there. */
  readonly retentionDays?: number;
}

const DAY_MS = 86_400_000;

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

export const NO_TOTALS: PullTotals = { pages: 0, received: 0, inserted: 0, duplicates: 0, rejected: 0 };

export function addTotals(a: PullTotals, b: PullTotals): PullTotals {
  return {
    pages: a.pages + b.pages,
    received: a.received + b.received,
    inserted: a.inserted + b.inserted,
    duplicates: a.duplicates + b.duplicates,
    rejected: a.rejected + b.rejected,
  };
}

export interface RunnerDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Told after each batch that stored new events; it evaluates them on its own time. */
  readonly detector?: { notify(): void };
  /**
   * The oldest event time retention keeps (see retention.ts), asked at the start of each pull: no pull reads
   * further back, whether it starts a backfill or resumes after a downtime longer than the retention.
   */
  readonly retentionCutoff?: () => Promise<number>;
}

/**
 * Where a dataset without a cursor starts: the backfill asked for, held to the oldest event Cloudflare keeps of it
 * and to the oldest event retention keeps (`cutoffMs`), as an older one would be deleted by the next retention run.
 */
export function backfillStart(job: DatasetJob, backfillFromMs: number, nowMs: number, cutoffMs = -Infinity): number {
  const upstream = job.retentionDays === undefined ? -Infinity : nowMs - job.retentionDays * DAY_MS;
  return Math.max(backfillFromMs, upstream, cutoffMs);
}

/**
 * Pulls one dataset from its committed cursor until the source is caught up. Each page's events and the
 * cursor after it are committed in one store transaction, so a crash at any point resumes exactly after
 * the last stored page: nothing lost, and the unique event id makes a replayed page harmless. A dataset
 * without a cursor starts at `backfillFromMs`, and that start is committed before its first request, so later
 * runs keep to it whatever backfill they are given, even after a first run stopped before its first page.
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
  let cutoffMs = await deps.retentionCutoff?.();
  const committed = await deps.store.cursor(job.id);
  const start: SourceCursor =
    committed ??
    job.source.initialCursor({
      backfillFromMs: backfillStart(job, options.backfillFromMs, deps.clock.now(), cutoffMs),
    });
  // Without this, a first run stopped or failing before its first page leaves no cursor, and the next run starts
  // from its own backfill instead: 7 days for a 180-day backfill cut short, or history after a backfill of 0 days.
  if (committed === undefined) await deps.store.append([], { id: job.id, value: start });
  // A cursor left further back than retention keeps (a collector down for longer, a backfill under way when an
  // admin shortened the retention) is read from the cut-off on: everything newer is still read, and the raised
  // floor is committed with the first page.
  const held = (cursor: SourceCursor): SourceCursor =>
    cutoffMs === undefined || job.source.withFloor === undefined ? cursor : job.source.withFloor(cursor, cutoffMs);
  let cursor = held(start);
  const meta = { sourceName: job.sourceName, accountId: job.accountId, dataset: job.source.dataset };
  let totals = NO_TOTALS;
  const lateness = new LatenessWatch(job.id, deps);
  let cutoffCheckedMs = deps.clock.now();

  for (;;) {
    const behind = await pullPages(cursor);
    if (behind === undefined) break;
    // The retention was shortened while a long pull read what it no longer keeps: the rest of the pull starts
    // from the committed cursor held to the new cut-off, instead of reading on through what would be deleted.
    cutoffMs = behind;
    cursor = held((await deps.store.cursor(job.id)) ?? start);
    deps.logger.info({ jobId: job.id, cutoffMs }, 'Pull moved on to the retention cut-off');
  }
  lateness.report();
  return totals;

  /** Pulls from `from`; returns a newer cut-off when its pages fell behind one, or undefined once caught up. */
  async function pullPages(from: SourceCursor): Promise<number | undefined> {
    for await (const page of prefetchOne(job.source.pull(from, options.signal))) {
      const events = new NormalizedPage(page.records, job.normalize, meta, job.enrich);
      const result = await deps.store.append(events, { id: job.id, value: page.nextCursor });
      deps.detector?.notify();
      lateness.observe(page.reread, result.oldestInsertedMs);
      const { rejected, newestEventMs, oldestEventMs } = events;
      for (const [reason, count] of events.rejections) {
        deps.metrics.increment('pipeline_events_rejected_total', { ...labels, reason }, count);
      }
      if (rejected > 0) {
        deps.logger.warn({ jobId: job.id, rejected }, 'Records rejected by the normalizer');
      }
      deps.metrics.increment('source_events_received_total', labels, page.records.length);
      deps.metrics.increment('pipeline_events_stored_total', labels, result.inserted);
      deps.metrics.increment('pipeline_events_duplicate_total', labels, result.duplicates);
      totals = {
        pages: totals.pages + 1,
        received: totals.received + page.records.length,
        inserted: totals.inserted + result.inserted,
        duplicates: totals.duplicates + result.duplicates,
        rejected: totals.rejected + rejected,
      };
      deps.logger.debug({ jobId: job.id, ...result, rejected, received: page.records.length }, 'Batch stored');
      // A page without records only moves the cursor on; it has nothing to report.
      if (page.records.length === 0) continue;
      options.onPageStored?.({
        jobId: job.id,
        received: page.records.length,
        inserted: result.inserted,
        duplicates: result.duplicates,
        rejected,
        newestEventMs,
        oldestEventMs,
      });
      // Asked at most once a minute: a pull that keeps ahead of the cut-off, as every pull but a long backfill does,
      // never finds itself behind it.
      if (deps.retentionCutoff === undefined || job.source.withFloor === undefined || newestEventMs === null) continue;
      if (deps.clock.now() - cutoffCheckedMs < CUTOFF_RECHECK_MS) continue;
      cutoffCheckedMs = deps.clock.now();
      const now = await deps.retentionCutoff();
      if (newestEventMs < now && now > (cutoffMs ?? -Infinity)) return now;
    }
    return undefined;
  }
}

// How often a long pull asks whether retention now keeps less than it did when the pull began.
const CUTOFF_RECHECK_MS = 60_000;

/**
 * Watches how late events show up upstream, from those a pull's reread found new. An event later than the
 * lookback is never collected and nothing upstream says so, so arrivals past half the lookback are warned about
 * while there is still room to widen it: at most hourly per dataset, as every pull may find them.
 */
class LatenessWatch {
  readonly #jobId: string;
  readonly #deps: Pick<RunnerDeps, 'clock' | 'logger'>;
  #latestMs = -1;
  #lookbackMs = 0;

  constructor(jobId: string, deps: Pick<RunnerDeps, 'clock' | 'logger'>) {
    this.#jobId = jobId;
    this.#deps = deps;
  }

  observe(reread: Reread | undefined, oldestInsertedMs: number | null): void {
    if (reread === undefined || oldestInsertedMs === null || oldestInsertedMs >= reread.readBeforeMs) return;
    const lateMs = reread.readAtMs - oldestInsertedMs;
    if (lateMs <= this.#latestMs) return;
    this.#latestMs = lateMs;
    this.#lookbackMs = reread.lookbackMs;
  }

  /** Once per pull: the latest arrival it saw, at debug, or as a warning when it came near the lookback. */
  report(): void {
    if (this.#latestMs < 0) return;
    const fields = { jobId: this.#jobId, lateBySecs: seconds(this.#latestMs), lookbackSecs: seconds(this.#lookbackMs) };
    const nowMs = this.#deps.clock.now();
    const warnedMs = LATENESS_WARNED.get(this.#jobId);
    if (this.#latestMs * 2 < this.#lookbackMs || (warnedMs !== undefined && nowMs - warnedMs < HOUR_MS)) {
      this.#deps.logger.debug(fields, 'Late events found by the lookback');
      return;
    }
    LATENESS_WARNED.set(this.#jobId, nowMs);
    this.#deps.logger.warn(
      fields,
      `Events showed up in the API ${fields.lateBySecs} s after their time, more than half the ${fields.lookbackSecs} s lookback; one later than the lookback is never collected. Raise cloudflare.lookback_secs (ZEROTRAIL_CLOUDFLARE__LOOKBACK_SECS)`,
    );
  }
}

const HOUR_MS = 3_600_000;
// When each dataset was last warned of late events, by job id: one entry per dataset of this process.
const LATENESS_WARNED = new Map<string, number>();

function seconds(ms: number): number {
  return Math.round(ms / 1000);
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
