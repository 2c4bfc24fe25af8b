import { clearScreenDown } from 'node:readline';
import cliProgress from 'cli-progress';
import type { AppError } from '../core/errors.js';
import { datasetJobId, splitJobId } from '../core/job-id.js';
import { CLOUDFLARE_DATASET_IDS } from '../sources/cloudflare/datasets/catalogue.js';
import type { SnapshotStored } from '../pipeline/inventory-runner.js';
import type { PageStored, PullTotals } from '../pipeline/runner.js';
import { writeLine, type CliIo } from './io.js';
import { visible, visibleLines } from './output.js';

export interface ProgressReporter {
  pageStored(page: PageStored): void;
  caughtUp(jobId: string, totals: PullTotals): void;
  /** `recheckMs`: a permanent failure that is tried again after that long, while following. */
  failed(jobId: string, error: AppError, permanent: boolean, recheckMs?: number): void;
  /** An optional dataset the token may not read; said once per job, however often it is looked at again. */
  unavailable(jobId: string, error: AppError, recheckMs: number): void;
  snapshotStored(snapshot: SnapshotStored): void;
  /** A line of its own, written above the bars on a terminal so that they are not torn. */
  notice(line: string): void;
  /** Text made safe to show already (log lines), ending in a line break: above the bars, as it is. */
  writeAbove(text: string): void;
  stop(): void;
}

// Plain (non-TTY) output stays readable in a log file: at most one progress line per job this often.
const PLAIN_LINE_INTERVAL_MS = 5000;
// The datasets of a source fail within moments of each other when they fail for one reason (a revoked token
// fails them all): a failure waits this long for others like it, so that one line names them all.
const FAILURE_GROUP_QUIET_MS = 300;
// However many keep coming, a failure is said within this long.
const FAILURE_GROUP_MAX_MS = 2000;

/** Failures of datasets of one source with one error, said in one line. */
interface FailureGroup {
  readonly sourceName: string;
  readonly datasets: string[];
  readonly permanent: boolean;
  readonly recheckMs?: number;
  readonly error: AppError;
}

interface JobProgress {
  stored: number;
  duplicates: number;
  newestEventMs: number | null;
  /** Where this run's part of the backfill starts; undefined until the first page of a resumed dataset. */
  fromMs: number | undefined;
  /** Resumed from a cursor an earlier run committed, rather than collected for the first time. */
  readonly resumed: boolean;
  lastLineMs: number;
  caughtUpOnce: boolean;
  unavailableSaid: boolean;
  bar: cliProgress.SingleBar | undefined;
}

/**
 * Shows how far each dataset's backfill has come, measured in event time between where this run starts it and
 * `toMs`: a bar on a terminal, a log line every few seconds otherwise. `jobStarts` holds each dataset's start: the
 * backfill start of a dataset collected for the first time, undefined for one resumed from its cursor, whose
 * first page this run stores marks it.
 */
export function createProgressReporter(
  io: CliIo,
  jobStarts: ReadonlyMap<string, number | undefined>,
  toMs: number,
  quiet = false,
): ProgressReporter {
  const jobIds = [...jobStarts.keys()];
  // Without a job there is no bar, and cli-progress would hold every notice back for a frame that never comes.
  const tty = io.stderr.isTTY === true && !quiet && jobIds.length > 0;
  const multi = tty
    ? new cliProgress.MultiBar(
        {
          stream: io.stderr,
          format: ' {job} [{bar}] {percentage}% | {stored} events | up to {position}',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          // cli-progress turns the terminal's line wrapping off by default (ESC[?7l), which cuts every notice
          // at the terminal's width. With wrapping on it trims each bar to the width instead, and a notice
          // wraps onto as many rows as it needs.
          linewrap: true,
          // A notice pushes the bars down; a bar that did not change since the last frame is drawn again, or its
          // new row would keep whatever the notice or another bar left there.
          forceRedraw: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  // cli-progress clears only the first row under the notices it writes, so a notice wrapped onto more rows, or
  // several notices at once, would leave the tail of the bars they overwrite. The bars' rows are cleared before
  // the notices go out; 'redraw-pre' comes with the cursor back on the first bar row, before the notices.
  let noticesWaiting = false;
  multi?.on('redraw-pre', () => {
    if (!noticesWaiting) return;
    noticesWaiting = false;
    clearScreenDown(io.stderr);
  });
  const width = Math.max(...jobIds.map((id) => visible(id).length), 4);
  const jobs = new Map<string, JobProgress>(
    jobIds.map((jobId) => [
      jobId,
      {
        stored: 0,
        duplicates: 0,
        newestEventMs: null,
        fromMs: jobStarts.get(jobId),
        resumed: jobStarts.get(jobId) === undefined,
        lastLineMs: 0,
        caughtUpOnce: false,
        unavailableSaid: false,
        bar: multi?.create(100, 0, { job: visible(jobId).padEnd(width), stored: 0, position: 'start' }),
      },
    ]),
  );
  const percent = ({ newestEventMs, fromMs }: JobProgress): number =>
    newestEventMs === null || fromMs === undefined || toMs <= fromMs
      ? 0
      : Math.max(0, Math.min(100, Math.floor(((newestEventMs - fromMs) / (toMs - fromMs)) * 100)));

  // Every part that comes from data (a source name, an error from Cloudflare) is escaped where the line is put
  // together; escaping here too keeps a line that forgot it from driving the terminal.
  const writeAbove = (text: string): void => {
    if (multi === undefined || !multi.isActive) {
      io.stderr.write(text);
      return;
    }
    noticesWaiting = true;
    multi.log(text);
  };
  const notice = (line: string): void => writeAbove(`${visibleLines(line)}\n`);

  let failures = new Map<string, FailureGroup>();
  let failuresSince = 0;
  let failureTimer: NodeJS.Timeout | undefined;
  const sayFailures = (): void => {
    clearTimeout(failureTimer);
    failureTimer = undefined;
    const groups = [...failures.values()];
    failures = new Map();
    for (const group of groups) notice(failureLine(group));
  };

  return {
    pageStored(page) {
      const job = jobs.get(page.jobId);
      if (job === undefined) return;
      job.stored += page.inserted;
      job.duplicates += page.duplicates;
      if (page.newestEventMs !== null) job.newestEventMs = Math.max(job.newestEventMs ?? 0, page.newestEventMs);
      // A resumed dataset's cursor is read only by its source: the events it serves first show where it stood.
      job.fromMs ??= page.oldestEventMs ?? undefined;
      const position = job.newestEventMs === null ? 'start' : new Date(job.newestEventMs).toISOString();
      if (job.bar !== undefined) {
        job.bar.update(job.caughtUpOnce ? 100 : percent(job), { stored: job.stored, position });
        return;
      }
      const now = Date.now();
      if (quiet || now - job.lastLineMs < PLAIN_LINE_INTERVAL_MS) return;
      if (job.caughtUpOnce) {
        // Following: each pull rereads the lookback, so a line per pull with the running totals read as new events
        // arriving every time. Only a page that stored something is said, and the totals as what they are.
        if (page.inserted === 0) return;
        job.lastLineMs = now;
        writeLine(io.stderr, `${visible(page.jobId)}: ${plural(job.stored, 'event')} stored so far, up to ${position}`);
        return;
      }
      job.lastLineMs = now;
      // A resumed dataset is catching up, not backfilling; events it read again (the lookback) are not new.
      const done = ` (${percent(job)}% ${job.resumed ? 'caught up' : 'of backfill'})`;
      // Said as what happened to them: "already stored" read, while following, as duplicates coming in.
      const again = job.duplicates > 0 ? `, ${job.duplicates} read again and skipped` : '';
      writeLine(
        io.stderr,
        `${visible(page.jobId)}: ${plural(job.stored, 'event')} stored${again}, up to ${position}${done}`,
      );
    },
    caughtUp(jobId, totals) {
      const job = jobs.get(jobId);
      if (job === undefined) return;
      if (job.bar !== undefined) {
        job.bar.update(100, { stored: job.stored });
      } else if (!quiet && (!job.caughtUpOnce || totals.inserted > 0)) {
        writeLine(
          io.stderr,
          `${visible(jobId)}: caught up, ${plural(job.stored, 'event')} stored so far (${totals.inserted} in this pull)`,
        );
      }
      job.caughtUpOnce = true;
    },
    failed(jobId, error, permanent, recheckMs) {
      const { sourceName, dataset } = splitJobId(jobId);
      const key = JSON.stringify([sourceName, permanent, recheckMs, error.code, error.message]);
      const group = failures.get(key);
      if (group === undefined) {
        failures.set(key, {
          sourceName,
          datasets: [dataset],
          permanent,
          error,
          ...(recheckMs === undefined ? {} : { recheckMs }),
        });
        // A dataset retried within the grouping window fails again with the same error: named once.
      } else if (!group.datasets.includes(dataset)) group.datasets.push(dataset);
      const now = Date.now();
      if (failureTimer === undefined) failuresSince = now;
      clearTimeout(failureTimer);
      failureTimer = setTimeout(
        sayFailures,
        Math.min(FAILURE_GROUP_QUIET_MS, failuresSince + FAILURE_GROUP_MAX_MS - now),
      );
      // A failure still waiting when the command ends is said by stop(); the process does not wait for it.
      failureTimer.unref();
    },
    unavailable(jobId, error, recheckMs) {
      const job = jobs.get(jobId);
      if (job?.unavailableSaid === true) return;
      if (job !== undefined) job.unavailableSaid = true;
      notice(
        `${visible(jobId)}: not collected (optional; looked at again every ${waitText(recheckMs)}): ${visible(error.message)}`,
      );
    },
    snapshotStored(snapshot) {
      if (quiet) return;
      notice(
        `${visible(snapshot.jobId)}: inventory snapshot of ${plural(snapshot.entities, 'entity').replace('entitys', 'entities')}, ${plural(snapshot.changes, 'change')}`,
      );
    },
    notice,
    writeAbove,
    stop() {
      sayFailures();
      // stop() draws the bars one last time but drops the notices still waiting for the next frame.
      if (noticesWaiting) multi?.update();
      multi?.stop();
    },
  };
}

/**
 * `NAME/dataset: failed: error[CODE] message` for one dataset, `NAME: a, b, c failed: error[CODE] message` for
 * several datasets of one source failing alike.
 */
function failureLine(group: FailureGroup): string {
  const what = !group.permanent
    ? 'will retry'
    : group.recheckMs === undefined
      ? 'failed'
      : `failed, tried again in ${waitText(group.recheckMs)}`;
  const error = `error[${group.error.code}] ${visible(group.error.message)}`;
  return `${datasetsLabel(group.sourceName, group.datasets)}${group.datasets.length === 1 ? ':' : ''} ${what}: ${error}`;
}

/** `NAME/dataset` for one dataset of a source, `NAME: a, b, c` (in catalogue order) for several, escaped. */
export function datasetsLabel(sourceName: string, datasets: readonly string[]): string {
  const [only] = datasets;
  return datasets.length === 1 && only !== undefined
    ? visible(datasetJobId(sourceName, only))
    : `${visible(sourceName)}: ${inCatalogueOrder(datasets).map(visible).join(', ')}`;
}

/** Dataset names in the order `source test` and the README list them, whatever order they failed in. */
export function inCatalogueOrder(datasets: readonly string[]): string[] {
  const rank = (dataset: string): number => {
    const index = (CLOUDFLARE_DATASET_IDS as readonly string[]).indexOf(dataset);
    return index < 0 ? CLOUDFLARE_DATASET_IDS.length : index;
  };
  return [...datasets].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** `40 s` under a minute, `10 min` from one on. */
function waitText(ms: number): string {
  return ms < 60_000 ? `${Math.ceil(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
