import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { AppError } from '../core/errors.js';
import { createProgressReporter } from './progress.js';
import type { CliIo } from './io.js';
import type { PageStored } from '../pipeline/runner.js';

const HOUR_MS = 3_600_000;
const NOW_MS = Date.parse('2026-06-01T12:00:00Z');

function plainIo(): { io: CliIo; text: () => string } {
  const stderr = new PassThrough();
  let written = '';
  stderr.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
  const io: CliIo = {
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr,
    env: {},
    signal: new AbortController().signal,
  };
  return { io, text: () => written };
}

function page(jobId: string, oldestEventMs: number, newestEventMs: number): PageStored {
  return { jobId, received: 10, inserted: 10, duplicates: 0, rejected: 0, oldestEventMs, newestEventMs };
}

describe('backfill progress', () => {
  it("measures a dataset collected for the first time from its own start, not the run's backfill", () => {
    const { io, text } = plainIo();
    // An Access dataset under a 200-day backfill starts at the 180 days Cloudflare keeps.
    const start = NOW_MS - 180 * 24 * HOUR_MS;
    const progress = createProgressReporter(io, new Map([['Main/access_requests', start]]), NOW_MS);
    progress.pageStored(page('Main/access_requests', start, start + 90 * 24 * HOUR_MS));
    progress.stop();
    expect(text()).toContain(
      'Main/access_requests: 10 events stored, up to 2026-03-03T12:00:00.000Z (50% of backfill)',
    );
  });

  it('measures a resumed dataset from where this run found it', () => {
    const { io, text } = plainIo();
    // Resumed ten hours behind, with a backfill of seven days in the settings: half of what was left is done.
    const progress = createProgressReporter(io, new Map([['Main/access_requests', undefined]]), NOW_MS);
    progress.pageStored(page('Main/access_requests', NOW_MS - 10 * HOUR_MS, NOW_MS - 5 * HOUR_MS));
    progress.stop();
    expect(text()).toContain('(50% caught up)');
  });

  it('keeps the start a resumed dataset showed first', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { io, text } = plainIo();
      const progress = createProgressReporter(io, new Map([['Main/access_requests', undefined]]), NOW_MS);
      progress.pageStored(page('Main/access_requests', NOW_MS - 8 * HOUR_MS, NOW_MS - 8 * HOUR_MS));
      // Plain lines come at most every five seconds per dataset.
      vi.advanceTimersByTime(6000);
      progress.pageStored(page('Main/access_requests', NOW_MS - 6 * HOUR_MS, NOW_MS - 4 * HOUR_MS));
      progress.stop();
      expect(text()).toContain('stored, up to 2026-06-01T04:00:00.000Z (0% caught up)');
      expect(text()).toContain('stored, up to 2026-06-01T08:00:00.000Z (50% caught up)');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('progress lines', () => {
  it('count the events a resumed dataset read again apart from the new ones', () => {
    const { io, text } = plainIo();
    const progress = createProgressReporter(io, new Map([['Main/access_requests', undefined]]), NOW_MS);
    progress.pageStored({ ...page('Main/access_requests', NOW_MS - HOUR_MS, NOW_MS), inserted: 0, duplicates: 10 });
    progress.stop();
    expect(text()).toContain('Main/access_requests: 0 events stored, 10 read again and skipped, up to');
  });

  it('say nothing while following of a pull that only read the lookback again, and call totals totals', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { io, text } = plainIo();
      const progress = createProgressReporter(io, new Map([['Main/access_requests', undefined]]), NOW_MS);
      progress.pageStored(page('Main/access_requests', NOW_MS - HOUR_MS, NOW_MS - 60_000));
      progress.caughtUp('Main/access_requests', { pages: 1, received: 10, inserted: 10, duplicates: 0, rejected: 0 });
      const before = text();
      vi.advanceTimersByTime(6000);
      progress.pageStored({ ...page('Main/access_requests', NOW_MS - 60_000, NOW_MS), inserted: 0, duplicates: 10 });
      expect(text()).toBe(before);
      vi.advanceTimersByTime(6000);
      progress.pageStored({ ...page('Main/access_requests', NOW_MS - 60_000, NOW_MS), inserted: 3, duplicates: 7 });
      progress.stop();
      expect(text().slice(before.length)).toBe(
        'Main/access_requests: 13 events stored so far, up to 2026-06-01T12:00:00.000Z\n',
      );
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('failure lines', () => {
  it('name a dataset that failed again within the grouping window once', () => {
    const { io, text } = plainIo();
    const progress = createProgressReporter(io, new Map([['Main/access_requests', undefined]]), NOW_MS);
    const error = new AppError('SOURCE_RATE_LIMITED', { message: 'Cloudflare asked to slow down.', retryable: true });
    for (let retry = 0; retry < 5; retry++) progress.failed('Main/access_requests', error, false);
    progress.failed('Main/audit_logs', error, false);
    progress.stop();
    expect(text()).toContain('Main: access_requests, audit_logs will retry: error[SOURCE_RATE_LIMITED]');
    expect(text().match(/access_requests/g)).toHaveLength(1);
  });
});
