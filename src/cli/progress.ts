import cliProgress from 'cli-progress';
import type { AppError } from '../core/errors.js';
import type { SnapshotStored } from '../pipeline/inventory-runner.js';
import type { PageStored, PullTotals } from '../pipeline/runner.js';
import { writeLine, type CliIo } from './io.js';

export interface ProgressReporter {
  pageStored(page: PageStored): void;
  caughtUp(jobId: string, totals: PullTotals): void;
  failed(jobId: string, error: AppError, permanent: boolean): void;
  /** An optional dataset the token may not read; said once per job, however often it is looked at again. */
  unavailable(jobId: string, error: AppError, recheckMs: number): void;
  snapshotStored(snapshot: SnapshotStored): void;
  /** A line of its own, written above the bars on a terminal so that they are not torn. */
  notice(line: string): void;
  stop(): void;
}

// Plain (non-TTY) output stays readable in a log file: at most one progress line per job this often.
const PLAIN_LINE_INTERVAL_MS = 5000;

interface JobProgress {
  stored: number;
  duplicates: number;
  newestEventMs: number | null;
  lastLineMs: number;
  caughtUpOnce: boolean;
  unavailableSaid: boolean;
  bar: cliProgress.SingleBar | undefined;
}

/**
 * Shows how far each dataset's backfill has come, measured in event time between the backfill start and
 * now: a bar on a terminal, a log line every few seconds otherwise.
 */
export function createProgressReporter(
  io: CliIo,
  jobIds: readonly string[],
  span: { readonly fromMs: number; readonly toMs: number },
  quiet = false,
): ProgressReporter {
  const tty = io.stderr.isTTY === true && !quiet;
  const multi = tty
    ? new cliProgress.MultiBar(
        {
          stream: io.stderr,
          format: ' {job} [{bar}] {percentage}% | {stored} events | up to {position}',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const width = Math.max(...jobIds.map((id) => id.length), 4);
  const jobs = new Map<string, JobProgress>(
    jobIds.map((jobId) => [
      jobId,
      {
        stored: 0,
        duplicates: 0,
        newestEventMs: null,
        lastLineMs: 0,
        caughtUpOnce: false,
        unavailableSaid: false,
        bar: multi?.create(100, 0, { job: jobId.padEnd(width), stored: 0, position: 'start' }),
      },
    ]),
  );
  const percent = (timeMs: number | null): number =>
    timeMs === null || span.toMs <= span.fromMs
      ? 0
      : Math.max(0, Math.min(100, Math.floor(((timeMs - span.fromMs) / (span.toMs - span.fromMs)) * 100)));

  const notice = (line: string): void => {
    if (multi !== undefined) multi.log(`${line}\n`);
    else writeLine(io.stderr, line);
  };

  return {
    pageStored(page) {
      const job = jobs.get(page.jobId);
      if (job === undefined) return;
      job.stored += page.inserted;
      job.duplicates += page.duplicates;
      if (page.newestEventMs !== null) job.newestEventMs = Math.max(job.newestEventMs ?? 0, page.newestEventMs);
      const position = job.newestEventMs === null ? 'start' : new Date(job.newestEventMs).toISOString();
      if (job.bar !== undefined) {
        job.bar.update(job.caughtUpOnce ? 100 : percent(job.newestEventMs), { stored: job.stored, position });
        return;
      }
      const now = Date.now();
      if (!quiet && now - job.lastLineMs >= PLAIN_LINE_INTERVAL_MS) {
        job.lastLineMs = now;
        const done = job.caughtUpOnce ? '' : ` (${percent(job.newestEventMs)}% of backfill)`;
        writeLine(io.stderr, `${page.jobId}: ${plural(job.stored, 'event')} stored, up to ${position}${done}`);
      }
    },
    caughtUp(jobId, totals) {
      const job = jobs.get(jobId);
      if (job === undefined) return;
      if (job.bar !== undefined) {
        job.bar.update(100, { stored: job.stored });
      } else if (!quiet && (!job.caughtUpOnce || totals.inserted > 0)) {
        writeLine(
          io.stderr,
          `${jobId}: caught up, ${plural(job.stored, 'event')} stored so far (${totals.inserted} in this pull)`,
        );
      }
      job.caughtUpOnce = true;
    },
    failed(jobId, error, permanent) {
      notice(`${jobId}: ${permanent ? 'failed' : 'will retry'}: error[${error.code}] ${error.message}`);
    },
    unavailable(jobId, error, recheckMs) {
      const job = jobs.get(jobId);
      if (job?.unavailableSaid === true) return;
      if (job !== undefined) job.unavailableSaid = true;
      const minutes = Math.max(1, Math.round(recheckMs / 60_000));
      notice(`${jobId}: not collected (optional; looked at again every ${minutes} min): ${error.message}`);
    },
    snapshotStored(snapshot) {
      if (quiet) return;
      notice(
        `${snapshot.jobId}: inventory snapshot of ${plural(snapshot.entities, 'entity').replace('entitys', 'entities')}, ${plural(snapshot.changes, 'change')}`,
      );
    },
    notice,
    stop() {
      multi?.stop();
    },
  };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
