import type { Command } from 'commander';
import { z } from 'zod';
import {
  buildDatasetJobs,
  refuseUnfinishedMigration,
  sourceRefusal,
  startForwarder,
  tokenRateShares,
  type App,
} from '../../app.js';
import { abortAfter, untilAborted } from '../../core/abort-after.js';
import { splitJobId } from '../../core/job-id.js';
import { numberFromText } from '../../core/number-setting.js';
import { AppError, NotFoundError } from '../../core/errors.js';
import { withoutMessages } from '../../core/logger.js';
import { CATCH_UP_BACKOFF, FOLLOW_BACKOFF, sleep } from '../../core/retry.js';
import type { TargetStatus } from '../../pipeline/forwarder.js';
import { InventoryCache } from '../../pipeline/inventory-cache.js';
import { LeaseKeeper, newNodeId } from '../../pipeline/leases.js';
import type { SnapshotStored } from '../../pipeline/inventory-runner.js';
import {
  applyRetention,
  cutoffFor,
  keepRetention,
  retentionCutoff,
  retentionPolicy,
} from '../../pipeline/retention.js';
import { addTotals, backfillStart, NO_TOTALS, type PageStored, type PullTotals } from '../../pipeline/runner.js';
import { runCollection, type JobOutcome } from '../../pipeline/scheduler.js';
import { isSourcePaused } from '../../pipeline/source-health.js';
import type { StoredSource } from '../../store/store.js';
import { ACCESS_LOG_RETENTION_DAYS, AUDIT_LOG_RETENTION_DAYS } from '../../sources/cloudflare/datasets/catalogue.js';
import { installationPlace, parseFlags, type CommandContext } from '../context.js';
import { writeLine } from '../io.js';
import { visible } from '../output.js';
import { createProgressReporter, datasetsLabel } from '../progress.js';
import { unknownSource } from './source.js';

/** Cloudflare keeps Access authentication logs at most 180 days (Enterprise); see API-NOTES §3. */
const DAY_MS = 86_400_000;
// A permission granted later is noticed within the hour without spending the rate budget on refusals.
const PERMISSION_RECHECK_MS = 3_600_000;
// `collect --once` waits this long for notifications of the alerts it raised; what is left stays queued.
const NOTIFY_DRAIN_MS = 30_000;

const ADD_SOURCE_HINT =
  'Add one first: printf %s "$TOKEN" | zerotrail source add --name NAME --account-id ID --token-stdin';

const collectFlagsSchema = z.object({
  once: z.boolean().default(false),
  source: z.array(z.string().min(1)).optional(),
  // Any number of days is taken and capped to what Cloudflare keeps, with a notice, as from the config file.
  backfillDays: z
    .string()
    .transform((text, ctx) => {
      const days = numberFromText(text);
      if (days !== undefined && days >= 0 && Number.isInteger(days)) return days;
      ctx.addIssue({
        code: 'custom',
        message: `expected a whole number of days, 0 or more, got ${text.trim() === '' ? 'empty text' : `"${text.slice(0, 40)}"`}`,
      });
      return z.NEVER;
    })
    .optional(),
});

export function registerCollectCommand(program: Command, context: CommandContext): void {
  program
    .command('collect')
    .description('Collect from every data source: backfill on first run, then follow new events until stopped')
    .option('--once', 'catch up every source, then exit (0 when all caught up)')
    .option('--source <name>', 'collect only this source; repeat it to collect several', repeated)
    .option(
      '--backfill-days <n>',
      'days of history to fetch on a first run (default 7, 0 for none); a larger number is capped with a notice: ' +
        'Access and SCIM logs start at most 180 days back, audit logs at most 548',
    )
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(collectFlagsSchema, rawFlags);
      const config = context.loadConfig(
        flags.backfillDays === undefined ? undefined : { collect: { backfill_days: flags.backfillDays } },
      );
      await context.withExistingApp(
        async (app) => {
          await refuseUnfinishedMigration(app);
          // With no source left (`source remove` says its events stay until retention deletes them), a scheduled
          // catch-up run is what still applies retention, though it then refuses to run as before.
          if ((await app.store.listSources()).length === 0) await applyRetention(app);
          const sources = await selectSources(app, flags.source);
          if (flags.once) reportOnce(context, await collect(app, context, sources, { once: true }));
          else await follow(app, context, flags.source, sources);
        },
        () => {
          // No source is stored yet: this refuses the run as it would once the installation were open, and says
          // where it looked, since a mistyped data directory is the likeliest reason.
          if (flags.source !== undefined) chooseSources([], flags.source);
          throw new AppError('SOURCE_NOT_FOUND', {
            message: `There is no data source to collect from: there is no zerotrail installation in ${installationPlace(config)} yet.`,
            hint:
              config.databaseUrl === undefined
                ? `${ADD_SOURCE_HINT}, or name the data directory of an existing installation with --data-dir DIR or ZEROTRAIL_DATA_DIR.`
                : `${ADD_SOURCE_HINT}, or check the database URL (--database-url or ZEROTRAIL_DATABASE_URL) and its ?schema=.`,
          });
        },
        config,
      );
    });
}

/** How often a following run looks at the stored sources, which `source set-token` and the web UI change. */
export const SOURCE_WATCH_MS = 15_000;

// What collection is built from: a source added, removed, given a new token (`source set-token`), another account
// or another rate share restarts it. The ciphertext changes with every encryption, so a new token always shows.
export function sourcesSignature(sources: readonly StoredSource[]): string {
  return JSON.stringify(
    [...sources]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((source) => [
        source.name,
        source.accountId,
        source.tokenCiphertext,
        source.settings['rate_share'] ?? null,
        source.settings['api_base_url'] ?? null,
      ]),
  );
}

/** Calls `changed` once the sources `select` keeps of the stored ones no longer have the signature `known`. */
export function watchSources(
  app: App,
  everyMs: number,
  known: string,
  changed: () => void,
  select: (all: readonly StoredSource[]) => readonly StoredSource[] = (all) => all,
): NodeJS.Timeout {
  return setInterval(() => {
    app.store.listSources().then(
      (sources) => {
        if (sourcesSignature(select(sources)) !== known) changed();
      },
      (error: unknown) => app.logger.warn({ err: error }, 'Could not list the data sources; trying again shortly'),
    );
  }, everyMs);
}

/**
 * Follows the sources named (all when none is) until the process is told to stop. When one of them changes (a
 * new token, account or rate share) or, without names, a source is added or removed, the run stops and starts
 * again with what is stored now, each dataset from its committed cursor: a token replaced by `source set-token`
 * is used within moments instead of failing until the process is restarted.
 */
async function follow(
  app: App,
  context: CommandContext,
  names: readonly string[] | undefined,
  first: readonly StoredSource[],
): Promise<void> {
  // Retention runs while this process follows, also while it waits for a source after the last was removed.
  const stopRetention = new AbortController();
  const retention = keepRetention(app, AbortSignal.any([context.io.signal, stopRetention.signal]));
  try {
    await followSources(app, context, names, first);
  } finally {
    stopRetention.abort();
    await retention;
  }
}

async function followSources(
  app: App,
  context: CommandContext,
  names: readonly string[] | undefined,
  first: readonly StoredSource[],
): Promise<void> {
  const select = (all: readonly StoredSource[]): readonly StoredSource[] =>
    names === undefined ? all : all.filter((source) => names.includes(source.name));
  let sources = first;
  for (;;) {
    const changed = new AbortController();
    const watch = watchSources(app, SOURCE_WATCH_MS, sourcesSignature(sources), () => changed.abort(), select);
    const stopped = AbortSignal.any([context.io.signal, changed.signal]);
    try {
      await collect(app, context, sources, { once: false, signal: stopped });
      // Returns early only when every dataset ended before being told to, their source removed or moved: that
      // change is taken up when the watch sees it, as any other.
      await untilAborted(stopped);
    } finally {
      clearInterval(watch);
    }
    if (context.io.signal.aborted || !changed.signal.aborted) return;
    sources = names === undefined ? await sourcesOnceAny(app, context) : await selectSources(app, names);
    if (sources.length === 0) return;
    writeLine(
      context.io.stderr,
      'The data sources changed (a token, an account or a rate share, or a source added or removed): collecting ' +
        'again with them, each dataset from where it stopped.',
    );
  }
}

/**
 * Every stored source, once there is one: a following collector whose last source was removed waits for the next
 * instead of exiting, as a service manager would only start it again to fail the same way. Empty when stopped.
 */
async function sourcesOnceAny(app: App, context: CommandContext): Promise<readonly StoredSource[]> {
  let sources = await app.store.listSources();
  if (sources.length > 0) return sources;
  writeLine(
    context.io.stderr,
    'No data source is left to collect from; waiting for one to be added (zerotrail source add).',
  );
  const waited = new AbortController();
  const standing = standBy(app, AbortSignal.any([context.io.signal, waited.signal]));
  try {
    while (sources.length === 0 && !context.io.signal.aborted) {
      await sleep(SOURCE_WATCH_MS, context.io.signal).catch(() => undefined);
      sources = await app.store.listSources();
    }
  } finally {
    waited.abort();
    await standing;
  }
  return context.io.signal.aborted ? [] : sources;
}

/**
 * Keeps this process counted among the live collectors until `signal` aborts, while it has no source to collect
 * but will collect the first one added: the sources page and `source status` would otherwise say that nothing
 * collects a source just added. It holds no lease, and gives its place up when it stops.
 */
export async function standBy(app: App, signal: AbortSignal): Promise<void> {
  const keeper = new LeaseKeeper(
    app.store,
    [],
    {
      nodeId: newNodeId({ catchUp: false, nodeName: app.config.collect.nodeName }),
      ttlMs: app.config.collect.leaseTtlSecs * 1000,
    },
    app.logger,
  );
  await keeper.run(signal);
  await keeper
    .leave()
    .catch((error: unknown) =>
      app.logger.warn({ err: error }, 'Standing-by collector not removed; it runs out on its own'),
    );
}

function repeated(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The sources named, in the order stored, or all of them; every name that matches none is reported at once. */
export async function selectSources(app: App, names: readonly string[] | undefined): Promise<readonly StoredSource[]> {
  return chooseSources(await app.store.listSources(), names);
}

function chooseSources(all: readonly StoredSource[], names: readonly string[] | undefined): readonly StoredSource[] {
  if (names !== undefined) {
    const unknown = [...new Set(names)].filter((name) => !all.some((source) => source.name === name));
    if (unknown.length > 0) {
      const errors = unknown.map((name) => unknownSource(name, all));
      throw new NotFoundError('SOURCE_NOT_FOUND', {
        message: errors.map((error) => error.message).join('\n'),
        ...(errors[0]?.hint === undefined ? {} : { hint: errors[0].hint }),
      });
    }
    return all.filter((source) => names.includes(source.name));
  }
  if (all.length === 0) {
    throw new AppError('SOURCE_NOT_FOUND', {
      message: 'There is no data source to collect from.',
      hint: ADD_SOURCE_HINT,
    });
  }
  return all;
}

/**
 * Runs collection for the given sources with progress output; shared by `collect`, `serve` and `demo`. A paused
 * source is skipped by a catch-up run; while following, its jobs wait until it is resumed.
 */
export async function collect(
  app: App,
  context: CommandContext,
  given: readonly StoredSource[],
  options: {
    readonly once: boolean;
    /** The caller reports progress itself; only failures are printed. */
    readonly quiet?: boolean;
    readonly signal?: AbortSignal;
    /** false: the caller runs the notification forwarder itself (serve keeps one across restarts). */
    readonly notify?: boolean;
    readonly onPageStored?: (page: PageStored) => void;
    readonly onSnapshotStored?: (snapshot: SnapshotStored) => void;
  },
): Promise<readonly JobOutcome[]> {
  const nowMs = app.clock.now();
  const paused = given.filter(isSourcePaused);
  const sources = options.once ? given.filter((source) => !isSourcePaused(source)) : given;
  if (paused.length > 0 && options.quiet !== true) {
    writeLine(
      context.io.stderr,
      `Paused, not collected${options.once ? '' : ' until resumed'}: ${paused.map((source) => visible(source.name)).join(', ')}.`,
    );
  }
  // A catch-up run owns retention for its length; a following run's caller keeps it (keepRetention) for as long
  // as the process lives, whether or not anything is collected.
  if (options.once) await applyRetention(app);
  // No dataset starts further back than retention keeps events: what is older would be deleted by the next
  // retention run, its alerts left pointing at nothing (backfillStart holds each start to the cut-off).
  const kept = await retentionPolicy(app);
  let backfillDays = app.config.collect.backfillDays;
  const heldToRetention = backfillDays > kept.maxAgeDays;
  if (heldToRetention) backfillDays = kept.maxAgeDays;
  // Each log dataset starts no further back than Cloudflare keeps it (DatasetJob.retentionDays): audit logs up to
  // 18 months, Access and SCIM logs up to 180 days.
  if (backfillDays > AUDIT_LOG_RETENTION_DAYS) {
    writeLine(
      context.io.stderr,
      `notice: backfill capped to ${AUDIT_LOG_RETENTION_DAYS} days (18 months), the longest Cloudflare keeps audit logs; ` +
        `Access and SCIM logs start at most ${ACCESS_LOG_RETENTION_DAYS} days back, the longest it keeps them (Enterprise plans).`,
    );
    backfillDays = AUDIT_LOG_RETENTION_DAYS;
  } else if (backfillDays > ACCESS_LOG_RETENTION_DAYS) {
    writeLine(
      context.io.stderr,
      `notice: Access and SCIM logs start at most ${ACCESS_LOG_RETENTION_DAYS} days back, the longest Cloudflare keeps them ` +
        `(Enterprise plans); audit logs, kept 18 months, start ${heldToRetention ? '' : 'the '}${backfillDays} days back${heldToRetention ? '' : ' asked for'}.`,
    );
  }
  const inventoryCache = new InventoryCache(app);
  await inventoryCache.load(
    app.store,
    sources.map((source) => source.name),
  );
  // Held to what every stored source of a token asks, not only those of this run.
  const tokenShares = tokenRateShares(app, await app.store.listSources());
  for (const { names, asked, held } of tokenShares.conflicts) {
    writeLine(
      context.io.stderr,
      `notice: ${names.map((name) => visible(name)).join(', ')} use one API token but ask for rate shares ${asked.join(', ')}; ` +
        `Cloudflare limits the token as a whole, so each is held to ${held}, the smallest.`,
    );
  }
  const jobs = buildDatasetJobs(app, sources, inventoryCache, tokenShares);
  const logJobIds = jobs.filter((job) => job.kind === 'log').map((job) => job.id);
  // A source refused as configured fails at once, fetching nothing: it is not backfilled.
  const refusedSources = new Set(
    sources.filter((source) => sourceRefusal(app.config, source) !== undefined).map((source) => source.name),
  );
  // What each job stored, counted page by page (a snapshot is stored whole): a job's own totals add up only the
  // runs that finished, so the pages of an interrupted run, or of one that failed and was retried, would be missing.
  const stored = new Map<string, PullTotals>();
  const count = (jobId: string, more: PullTotals): void => {
    stored.set(jobId, addTotals(stored.get(jobId) ?? NO_TOTALS, more));
  };
  const fresh = new Set<string>();
  for (const jobId of logJobIds) if ((await app.store.cursor(jobId)) === undefined) fresh.add(jobId);
  // Optional datasets the token has never been allowed to read: they stay without a cursor, so without this every
  // start would announce a backfill of them that the next moment refuses.
  const refused = new Set(
    (await app.store.datasetStatuses())
      .filter((status) => status.lastSuccessAt === null && status.lastErrorCode === 'SOURCE_PERMISSION_DENIED')
      .map((status) => status.id),
  );
  // Said once the leases are known: a dataset another node collects is not this run's to backfill.
  const announceBackfill = (starting: ReadonlySet<string>): void => {
    if (backfillDays <= 0) return;
    // A dataset Cloudflare keeps for less time than asked starts no further back than it keeps it (backfillStart):
    // each is announced with the days it really backfills.
    const byDays = new Map<number, string[]>();
    for (const job of jobs) {
      if (job.kind !== 'log' || refusedSources.has(job.sourceName)) continue;
      if (!fresh.has(job.id) || !starting.has(job.id) || refused.has(job.id)) continue;
      const days = Math.min(backfillDays, job.retentionDays ?? backfillDays);
      byDays.set(days, [...(byDays.get(days) ?? []), visible(job.id)]);
    }
    if (byDays.size === 0) return;
    const parts = [...byDays]
      .sort(([a], [b]) => b - a)
      .map(([days, jobIds]) => `${days} day${days === 1 ? '' : 's'} for ${jobIds.join(', ')}`);
    const held = heldToRetention
      ? ` Held to the ${kept.maxAgeDays}-day retention (${kept.origin === 'settings' ? 'set in Settings' : 'retention.max_age_days'}) ` +
        `instead of the ${app.config.collect.backfillDays} days asked for: older events would be deleted as soon as stored.`
      : '';
    progress.notice(
      `Backfilling ${parts.join('; ')}.${held} ` +
        'Cloudflare keeps Access logs 24 hours (Free) to 180 days (Enterprise) depending on the plan, audit logs 18 months; older events are not available.',
    );
  };
  const leases = new LeaseKeeper(
    app.store,
    jobs.map((job) => job.id),
    {
      nodeId: newNodeId({ catchUp: options.once, nodeName: app.config.collect.nodeName }),
      ttlMs: app.config.collect.leaseTtlSecs * 1000,
    },
    app.logger,
  );
  // A catch-up run gives a dataset up to another node only after its lease stayed taken for longer than a lease
  // lives, checked at each pass: without a word, a second run would seem to hang for that long.
  const announceWait = async (starting: ReadonlySet<string>): Promise<void> => {
    const waiting = jobs.map((job) => job.id).filter((jobId) => !starting.has(jobId));
    if (!options.once || waiting.length === 0) return;
    const others = (await app.store.liveNodes()).filter((nodeId) => nodeId !== leases.nodeId);
    const holders =
      others.length === 0
        ? ''
        : ` Collectors running on this store: ${others.map(visible).join(', ')} (a node id is the host name, the ` +
          'process id and "once" for a collect --once run).';
    const waitSecs = Math.ceil((app.config.collect.leaseTtlSecs * 1000 + 2 * leases.renewEveryMs) / 1000);
    progress.notice(
      `Waiting for datasets another zerotrail collector holds (${datasetList(waiting)}): this run waits up to ` +
        `${waitSecs} s for each one's lease to be given back and collects it then, or leaves it to that collector.` +
        holders,
    );
  };
  const backfillFromMs = nowMs - backfillDays * DAY_MS;
  const cutoffMs = cutoffFor(kept.maxAgeDays, nowMs);
  const jobStarts = new Map(
    jobs
      .filter((job) => job.kind === 'log')
      .map((job) => [job.id, fresh.has(job.id) ? backfillStart(job, backfillFromMs, nowMs, cutoffMs) : undefined]),
  );
  const progress = createProgressReporter(context.io, jobStarts, nowMs, options.quiet === true);
  const signal = options.signal ?? context.io.signal;
  const notifier = options.notify === false ? undefined : await startForwarder(app, signal);
  // On a terminal the progress lines say when a dataset fails, retries or may not be read; the log records of the
  // same events would say it again, once per dataset, unless logs were asked for. Where stderr goes to a file or
  // the journal, the records stay, for whatever reads them.
  const logger =
    options.quiet !== true && context.io.stderr.isTTY === true && !context.logLevelChosen(app.config)
      ? withoutMessages(app.logger, SHOWN_AS_PROGRESS)
      : app.logger;
  // Optional datasets the token may not read: never collected, so not unfinished when the run is stopped.
  const unreadable = new Set(refused);
  const progressed = new Set<string>();
  context.divertLogs((line) => progress.writeAbove(line));
  try {
    const outcomes = await runCollection(
      jobs,
      // Each pull reads nothing older than retention keeps, asked anew so that a retention an admin changes holds
      // from the next pull on, and a dataset resuming after a downtime longer than the retention starts there.
      { ...app, inventoryCache, logger, retentionCutoff: () => retentionCutoff(app) },
      {
        once: options.once,
        intervalMs: app.config.collect.intervalSecs * 1000,
        inventoryIntervalMs: app.config.collect.inventoryIntervalSecs * 1000,
        permissionRecheckMs: PERMISSION_RECHECK_MS,
        failedRecheckMs: app.config.collect.failedRecheckSecs * 1000,
        backfillFromMs,
        onJobsStarting: (startingIds) => {
          const starting = new Set(startingIds);
          announceBackfill(starting);
          announceWait(starting).catch((error: unknown) => {
            app.logger.warn({ err: error }, 'Could not tell which datasets another collector holds');
          });
        },
        retryPolicy: options.once ? CATCH_UP_BACKOFF : FOLLOW_BACKOFF,
        signal,
        onPageStored: (page) => {
          progressed.add(page.jobId);
          count(page.jobId, {
            pages: 1,
            received: page.received,
            inserted: page.inserted,
            duplicates: page.duplicates,
            rejected: page.rejected,
          });
          progress.pageStored(page);
          options.onPageStored?.(page);
        },
        onSnapshotStored: (snapshot) => {
          progressed.add(snapshot.jobId);
          progress.snapshotStored(snapshot);
          options.onSnapshotStored?.(snapshot);
        },
        onJobCaughtUp: (jobId, totals) => {
          if (!logJobIds.includes(jobId)) count(jobId, totals);
          progress.caughtUp(jobId, totals);
        },
        onJobFailed: (jobId, error, permanent, recheckMs) => progress.failed(jobId, error, permanent, recheckMs),
        onJobUnavailable: (jobId, error) => {
          unreadable.add(jobId);
          progress.unavailable(jobId, error, PERMISSION_RECHECK_MS);
        },
        isSourcePaused: async (name) => {
          const stored = await app.store.getSource(name);
          return stored !== undefined && isSourcePaused(stored);
        },
        // Shares the datasets with every other process collecting into the same store; a catch-up run takes
        // whatever is free and leaves to the others what they are collecting.
        leases,
      },
    );
    return outcomes.map((outcome) => ({
      ...outcome,
      // Stopped while it waited to ask again (or before its first request) for what it was refused before.
      ...(outcome.state === 'stopped' && unreadable.has(outcome.jobId) && !progressed.has(outcome.jobId)
        ? { state: 'unavailable' as const }
        : {}),
      totals: stored.get(outcome.jobId) ?? NO_TOTALS,
    }));
  } finally {
    context.divertLogs(undefined);
    progress.stop();
    if (options.once) {
      // The detector runs at most twice a second; the alerts of the last batches are raised before the run ends,
      // and notified when targets are set.
      await app.detector.catchUp().catch((error: unknown) => app.logger.warn({ err: error }, 'Detection run failed'));
    }
    if (options.once && !signal.aborted) {
      // The cut-off moved on while the run went: what passed it is deleted now, not by the next run.
      await applyRetention(app).catch((error: unknown) => app.logger.warn({ err: error }, 'Retention run failed'));
    }
    if (notifier !== undefined) {
      if (options.once) {
        await notifier.forwarder.drain(abortAfter(signal, NOTIFY_DRAIN_MS));
        reportUndelivered(context, notifier.forwarder.status());
      }
      await notifier.close();
    }
  }
}

// The scheduler's records of what the progress lines show on a terminal: a dataset stopped, a retry, a missing
// optional permission.
const SHOWN_AS_PROGRESS: readonly string[] = [
  'Dataset collection stopped',
  'Dataset collection failed; tried again later',
  'Pull retry scheduled',
  'Optional dataset not readable with this token',
];

/** `NAME: a, b; OTHER/c` for job ids, as the progress and failure lines name them. */
function datasetList(jobIds: readonly string[]): string {
  const bySource = new Map<string, string[]>();
  for (const jobId of jobIds) {
    const { sourceName, dataset } = splitJobId(jobId);
    bySource.set(sourceName, [...(bySource.get(sourceName) ?? []), dataset]);
  }
  return [...bySource].map(([sourceName, datasets]) => datasetsLabel(sourceName, datasets)).join('; ');
}

/**
 * Names each notification target that had not delivered everything when `collect --once` stopped waiting, or
 * whose receiver refused notices in this run (it is idle again by then), so a scheduled run that exits 0 still
 * says that alerts did not arrive and where to look.
 */
function reportUndelivered(context: CommandContext, targets: readonly TargetStatus[]): void {
  const behind = targets.filter((target) => target.state !== 'idle' || target.failed > 0);
  if (behind.length === 0) return;
  const described = behind.map((target) => {
    const refused = target.failed === 0 ? [] : [`refused ${target.failed} notice${target.failed === 1 ? '' : 's'}`];
    const what = [...(target.state === 'idle' ? [] : [target.state]), ...refused].join(', ');
    const error = target.lastError === null ? '' : `: ${target.lastError.code} ${target.lastError.message}`;
    return `${visible(target.target)} (${what}${visible(error)})`;
  });
  const refusals = behind.some((target) => target.failed > 0)
    ? 'Refused notices are recorded and not sent again (the alerts stay in zerotrail); the others stay queued'
    : 'They stay queued';
  writeLine(
    context.io.stderr,
    `Notifications not all delivered: ${described.join('; ')}. ${refusals} for the next run; ` +
      '`zerotrail notify status` shows each target.',
  );
}

function reportOnce(context: CommandContext, outcomes: readonly JobOutcome[]): void {
  const failed = outcomes.filter((outcome) => outcome.state === 'failed');
  const stored = outcomes.reduce((sum, outcome) => sum + outcome.totals.inserted, 0);
  const duplicates = outcomes.reduce((sum, outcome) => sum + outcome.totals.duplicates, 0);
  writeLine(
    context.io.stderr,
    `Stored ${stored} new event${stored === 1 ? '' : 's'} (${duplicates} already stored) from ${outcomes.length} dataset${outcomes.length === 1 ? '' : 's'}.`,
  );
  const stopped = outcomes.filter((outcome) => outcome.state === 'stopped').map((outcome) => outcome.jobId);
  const stoppedNote =
    stopped.length === 0
      ? undefined
      : `Stopped before every source caught up (not finished: ${stopped.map(visible).join(', ')}); what was stored is kept, ` +
        'and the next run resumes where this one stopped.';
  if (failed.length > 0) {
    // Datasets of one source failing alike (a revoked token) share one hint: it is said once.
    const hints = [
      ...new Set(failed.map((outcome) => outcome.error?.hint).filter((hint): hint is string => hint !== undefined)),
    ];
    // The interruption goes last, where a reader of the output's end looks.
    if (stoppedNote !== undefined) hints.push(stoppedNote);
    throw new AppError('COLLECT_FAILED', {
      message: failureLines(failed).join('\n'),
      ...(hints.length > 0 ? { hint: hints.join('\n') } : {}),
    });
  }
  const unavailable = outcomes.filter((outcome) => outcome.state === 'unavailable');
  if (unavailable.length > 0) {
    writeLine(
      context.io.stderr,
      `Not collected (optional, the token lacks the permission): ${unavailable.map((outcome) => visible(outcome.jobId)).join(', ')}. ` +
        'zerotrail source test NAME shows what each one needs.',
    );
  }
  const changed = outcomes.filter((outcome) => outcome.state === 'changed');
  if (changed.length > 0) {
    writeLine(
      context.io.stderr,
      `Stopped storing, the data source having been removed or changed during the run: ${changed.map((outcome) => visible(outcome.jobId)).join(', ')}. ` +
        'A source as it is now is collected by the next run.',
    );
  }
  const elsewhere = outcomes.filter((outcome) => outcome.state === 'elsewhere');
  if (elsewhere.length > 0) {
    writeLine(
      context.io.stderr,
      `Collected by another running zerotrail node, which holds and renews their leases: ${elsewhere.map((outcome) => visible(outcome.jobId)).join(', ')}. ` +
        'zerotrail source status shows how far each one is.',
    );
  }
  // A script reads the exit status: a run stopped part way has not caught up, whatever it stored.
  if (stoppedNote !== undefined) throw new AppError('COLLECT_STOPPED', { message: stoppedNote });
}

/**
 * One line per failure of `COLLECT_FAILED`: `NAME/dataset: error[CODE] message`, or, for datasets of one source
 * that failed with one error (a revoked token fails them all), `NAME: a, b, c: error[CODE] message`.
 */
export function failureLines(failed: readonly JobOutcome[]): string[] {
  const groups = new Map<string, { readonly sourceName: string; readonly datasets: string[]; readonly text: string }>();
  for (const outcome of failed) {
    const { sourceName, dataset } = splitJobId(outcome.jobId);
    const text = `error[${outcome.error?.code ?? 'INTERNAL'}] ${visible(outcome.error?.message ?? '')}`;
    const key = JSON.stringify([sourceName, text]);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { sourceName, datasets: [dataset], text });
    else group.datasets.push(dataset);
  }
  return [...groups.values()].map(
    ({ sourceName, datasets, text }) => `${datasetsLabel(sourceName, datasets)}: ${text}`,
  );
}
