import { getMaxListeners, setMaxListeners } from 'node:events';
import { AppError, isAppError } from '../core/errors.js';
import { redactToken } from '../core/redact-token.js';
import { isAbortError, retryDelayMs, sleep, type BackoffPolicy } from '../core/retry.js';
import { isLeaseLost, isSourceChanged, type LeaseFence } from '../store/lease-store.js';
import { FirstSnapshots } from './first-snapshots.js';
import type { InventoryCache } from './inventory-cache.js';
import { takeSnapshot, type InventoryJob, type SnapshotStored } from './inventory-runner.js';
import { fencedStore, type LeaseKeeper } from './leases.js';
import {
  addTotals,
  NO_TOTALS,
  pullUntilCaughtUp,
  type DatasetJob,
  type PageStored,
  type PullTotals,
  type RunnerDeps,
} from './runner.js';

/** A log dataset pulled from its cursor, or an inventory dataset snapshotted on a schedule. */
export type CollectionJob = DatasetJob | InventoryJob;

export interface CollectionDeps extends RunnerDeps {
  readonly inventoryCache?: InventoryCache;
}

export interface CollectOptions {
  /** Stop each job once it is caught up instead of following new events. */
  readonly once: boolean;
  readonly intervalMs: number;
  /** Time between two snapshots of an inventory dataset. */
  readonly inventoryIntervalMs: number;
  /** How long an optional dataset whose permission is missing waits before it is tried again. */
  readonly permissionRecheckMs: number;
  /**
   * While following, how long a dataset that failed permanently (a revoked token, a wrong Account ID, an answer
   * that will not change on a retry) waits before it is tried again: the customer may fix the cause, and a
   * collector left running must then carry on by itself rather than stay stopped until restarted.
   */
  readonly failedRecheckMs: number;
  readonly backfillFromMs: number;
  /** A job fails after `maxAttempts` retryable failures in a row (infinite while following). */
  readonly retryPolicy: BackoffPolicy;
  readonly signal: AbortSignal;
  readonly onPageStored?: (page: PageStored) => void;
  readonly onSnapshotStored?: (snapshot: SnapshotStored) => void;
  readonly onJobCaughtUp?: (jobId: string, totals: PullTotals) => void;
  /** `recheckMs` is set when a permanent failure is tried again after that long (while following). */
  readonly onJobFailed?: (jobId: string, error: AppError, permanent: boolean, recheckMs?: number) => void;
  /** An optional dataset the token may not read: not a failure; it is looked at again every permissionRecheckMs. */
  readonly onJobUnavailable?: (jobId: string, error: AppError) => void;
  /**
   * Asked before each run of a job while following: a job of a paused source waits an interval instead of
   * pulling, and carries on from its cursor once the source is resumed.
   */
  readonly isSourcePaused?: (sourceName: string) => Promise<boolean>;
  /**
   * Shares the jobs with other nodes on the same store: a job runs only while this node holds its lease, and
   * each of its appends is fenced by it. The keeper is run, and left on the way out, by `runCollection`.
   */
  readonly leases?: LeaseKeeper;
  /**
   * Called once before any job runs, with the jobs this node runs from the start: those whose leases the first
   * pass claimed, or every job without leases. A job taken over later is not reported.
   */
  readonly onJobsStarting?: (jobIds: readonly string[]) => void;
}

export interface JobOutcome {
  readonly jobId: string;
  /**
   * `unavailable`: an optional dataset the token may not read; collection of everything else goes on.
   * `elsewhere`: a catch-up run left the dataset to the live node that holds its lease.
   */
  /** `changed`: its source was removed or changed while it ran, so it stopped storing (see STORE_SOURCE_CHANGED). */
  readonly state: 'caught_up' | 'failed' | 'unavailable' | 'stopped' | 'elsewhere' | 'changed';
  readonly error: AppError | null;
  readonly totals: PullTotals;
}

/**
 * Runs every dataset job side by side. The scheduler owns intervals, backoff and catch-up after downtime;
 * one failing job never stops another.
 */
export async function runCollection(
  jobs: readonly CollectionJob[],
  deps: CollectionDeps,
  options: CollectOptions,
): Promise<readonly JobOutcome[]> {
  // Every job may wait on the stop signal at once (its interval sleep, the rate budget, a request, a retry);
  // that many listeners is expected, not the leak Node's default limit of 10 warns about.
  setMaxListeners(Math.max(getMaxListeners(options.signal), jobs.length * LISTENERS_PER_JOB), options.signal);
  // Events an earlier run stored but did not evaluate (it was killed in between) are evaluated now, whether or not
  // any request of this run succeeds: otherwise they wait for a pull that stores something.
  deps.detector?.notify();
  const keeper = options.leases;
  await keeper?.begin();
  options.onJobsStarting?.(keeper === undefined ? jobs.map((job) => job.id) : keeper.heldIds());
  // The passes stop with the jobs: a catch-up run ends once every job has, without waiting for the stop signal.
  const jobsDone = new AbortController();
  const keeping = keeper?.run(AbortSignal.any([options.signal, jobsDone.signal]));
  // Only snapshots this node takes are waited for: with leases, another node may hold them.
  const held = keeper === undefined ? undefined : new Set(keeper.heldIds());
  const firstSnapshots = new FirstSnapshots(
    held === undefined ? jobs : jobs.filter((job) => held.has(job.id)),
    deps.inventoryCache,
  );
  try {
    return await Promise.all(jobs.map((job) => runJob(job, deps, options, firstSnapshots)));
  } finally {
    jobsDone.abort();
    if (keeper !== undefined) {
      await keeping;
      // Released at once on a clean stop, so other nodes need not wait for the leases to run out.
      await keeper.leave().catch((error: unknown) => {
        deps.logger.warn({ err: error }, 'Leases not released; other nodes take them over when they run out');
      });
    }
  }
}

const LISTENERS_PER_JOB = 4;

function runOnce(job: CollectionJob, deps: CollectionDeps, options: CollectOptions): Promise<PullTotals> {
  if (job.kind === 'inventory') {
    return takeSnapshot(job, deps, {
      signal: options.signal,
      ...(options.onSnapshotStored === undefined ? {} : { onSnapshotStored: options.onSnapshotStored }),
    });
  }
  return pullUntilCaughtUp(job, deps, {
    backfillFromMs: options.backfillFromMs,
    signal: options.signal,
    ...(options.onPageStored === undefined ? {} : { onPageStored: options.onPageStored }),
  });
}

// A job that knows its source's identity has its appends refused once the source is removed or changed.
function withSource(fence: LeaseFence | undefined, job: CollectionJob): LeaseFence | undefined {
  if (fence === undefined || job.sourceCreatedAt === undefined) return fence;
  return { ...fence, source: { name: job.sourceName, createdAt: job.sourceCreatedAt, accountId: job.accountId } };
}

async function runJob(
  job: CollectionJob,
  deps: CollectionDeps,
  options: CollectOptions,
  firstSnapshots: FirstSnapshots,
): Promise<JobOutcome> {
  const log = deps.logger.child({ component: 'scheduler', jobId: job.id });
  let totals = NO_TOTALS;
  let failuresInARow = 0;
  await job.source.start();
  if (job.kind === 'log') await firstSnapshots.before(job, options.signal);
  try {
    while (!options.signal.aborted) {
      try {
        if (!options.once && (await options.isSourcePaused?.(job.sourceName)) === true) {
          await sleep(options.intervalMs, options.signal);
          continue;
        }
        const fence = withSource(options.leases?.fence(job.id), job);
        if (options.leases !== undefined && fence === undefined) {
          if (options.once && options.leases.heldElsewhere(job.id)) {
            log.info('Left to the node that holds its lease');
            return { jobId: job.id, state: 'elsewhere', error: null, totals };
          }
          // Another node collects this dataset, or none yet; look again after the next lease pass.
          await sleep(options.leases.renewEveryMs, options.signal);
          continue;
        }
        const pulled = await runOnce(
          job,
          fence === undefined ? deps : { ...deps, store: fencedStore(deps.store, fence) },
          options,
        ).finally(() => {
          if (job.kind === 'inventory') firstSnapshots.tried(job);
        });
        totals = addTotals(totals, pulled);
        failuresInARow = 0;
        await deps.store.setDatasetStatus({
          id: job.id,
          state: 'ok',
          lastSuccessAt: deps.clock.now(),
          lastErrorAt: null,
          lastErrorCode: null,
          lastErrorMessage: null,
          updatedAt: deps.clock.now(),
        });
        options.onJobCaughtUp?.(job.id, pulled);
        if (options.once) return { jobId: job.id, state: 'caught_up', error: null, totals };
        await sleep(job.kind === 'inventory' ? options.inventoryIntervalMs : options.intervalMs, options.signal);
      } catch (caught) {
        if (options.signal.aborted || isAbortError(caught)) break;
        if (isSourceChanged(caught)) {
          // Nothing more may be stored under this name for the source as it was; whoever runs the sources as they
          // are now (a following collector rereads them within seconds) collects the one that took its place.
          log.info('Data source removed or changed; its dataset stops here');
          await options.leases?.drop(job.id).catch((error: unknown) => {
            log.warn({ err: error }, 'Lease release failed; it runs out on its own');
          });
          return { jobId: job.id, state: 'changed', error: null, totals };
        }
        if (isLeaseLost(caught)) {
          // Another node took over from the committed cursor; this one waits in case the lease comes back.
          options.leases?.lost(job.id);
          log.warn('Lease lost; the dataset is collected by another node');
          continue;
        }
        const error = asAppError(caught);
        if (!job.required && error.code === 'SOURCE_PERMISSION_DENIED') {
          await recordFailure(job, deps, error, true);
          options.onJobUnavailable?.(job.id, error);
          log.info({ code: error.code }, 'Optional dataset not readable with this token');
          if (options.once) return { jobId: job.id, state: 'unavailable', error, totals };
          // The customer may grant the permission later; look again now and then instead of giving up.
          await sleep(options.permissionRecheckMs, options.signal).catch((aborted: unknown) => {
            log.debug({ err: aborted }, 'Permission recheck wait interrupted by shutdown');
          });
          continue;
        }
        failuresInARow++;
        const permanent = !error.retryable || failuresInARow >= options.retryPolicy.maxAttempts;
        deps.metrics.increment('pipeline_pulls_failed_total', {
          source: job.sourceName,
          dataset: job.source.dataset,
          code: error.code,
        });
        await recordFailure(job, deps, error, permanent);
        if (permanent && options.once) {
          options.onJobFailed?.(job.id, error, true);
          log.error({ err: error, code: error.code, attempts: failuresInARow }, 'Dataset collection stopped');
          return { jobId: job.id, state: 'failed', error, totals };
        }
        if (permanent) {
          options.onJobFailed?.(job.id, error, true, options.failedRecheckMs);
          log.error(
            { err: error, code: error.code, attempts: failuresInARow, recheckMs: options.failedRecheckMs },
            'Dataset collection failed; tried again later',
          );
          failuresInARow = 0;
          // Stays `failed` in the dataset status until a pull succeeds again.
          await sleep(options.failedRecheckMs, options.signal).catch((aborted: unknown) => {
            log.debug({ err: aborted }, 'Failed dataset recheck wait interrupted by shutdown');
          });
          continue;
        }
        options.onJobFailed?.(job.id, error, false);
        const delayMs = retryDelayMs(error, failuresInARow, options.retryPolicy);
        log.warn({ code: error.code, attempt: failuresInARow, delayMs }, 'Pull retry scheduled');
        await sleep(delayMs, options.signal).catch((aborted: unknown) => {
          log.debug({ err: aborted }, 'Retry wait interrupted by shutdown');
        });
      }
    }
  } finally {
    await job.source.stop();
  }
  return { jobId: job.id, state: 'stopped', error: null, totals };
}

async function recordFailure(job: CollectionJob, deps: RunnerDeps, error: AppError, permanent: boolean): Promise<void> {
  const previous = (await deps.store.datasetStatuses()).find((status) => status.id === job.id);
  await deps.store.setDatasetStatus({
    id: job.id,
    state: permanent ? 'failed' : 'retrying',
    lastSuccessAt: previous?.lastSuccessAt ?? null,
    lastErrorAt: deps.clock.now(),
    lastErrorCode: error.code,
    // The source redacts its token from what Cloudflare answers; this catches a bearer credential any other
    // error might quote, as the status outlives the run and every API caller, viewers included, reads it.
    lastErrorMessage: redactToken(error.message),
    updatedAt: deps.clock.now(),
  });
}

/** Faults we did not anticipate are retried like transient ones: after start-up the collector never crashes. */
function asAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  return new AppError('INTERNAL', {
    message: `Unexpected failure while collecting: ${error instanceof Error ? error.message : String(error)}`,
    retryable: true,
    cause: error,
  });
}
