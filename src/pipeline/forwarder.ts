import { hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import { isAppError, SinkError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { backoffDelayMs, isAbortError, retryDelayMs, sleep, withRetry, type BackoffPolicy } from '../core/retry.js';
import type { AlertNotice, Sink } from '../sinks/sink.js';
import { severityRank, type Severity } from '../store/detection-store.js';
import type { NotifyQueue, NotifyTargetState, NotifyTargetStatus, QueuedNotice } from '../store/notify-queue.js';

/** A notification target never gives up on a temporary failure; it waits at most five minutes between tries. */
export const NOTIFY_BACKOFF: BackoffPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  maxAttempts: Number.POSITIVE_INFINITY,
};
// The detector of the same process wakes the forwarder after committing alerts; this poll is for the alerts other
// processes sharing the database raise, which reach their targets within a couple of seconds.
const DEFAULT_POLL_MS = 2_000;
const READ_LIMIT = 200;

export type TargetState = NotifyTargetState;

/** What an operator sees about one target. */
export interface TargetStatus {
  readonly target: string;
  readonly type: string;
  readonly state: TargetState;
  readonly offset: number;
  /** Delivered and refused in this process; the stored status carries `delivered` on across restarts. */
  readonly delivered: number;
  readonly failed: number;
  /** Retries since the target first ran, and failed tries in a row of the notices it sends now. */
  readonly retries: number;
  readonly attempt: number;
  readonly lastSuccessAt: number | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | null;
  readonly nextAttemptAt: number | null;
}

export interface ForwarderTarget {
  readonly sink: Sink;
  readonly minSeverity: Severity;
}

export interface ForwarderDeps {
  readonly queue: NotifyQueue;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
}

export interface ForwarderOptions {
  /** Prefix of the alert links in notices (the web UI's address); without it links are paths. */
  readonly linkBaseUrl?: string;
  readonly pollMs?: number;
  readonly backoff?: BackoffPolicy;
}

interface TargetRun {
  readonly target: ForwarderTarget;
  status: TargetStatus;
  caughtUp: boolean;
  loop: Promise<void> | null;
  /** Delivered before this process, from the stored status. */
  deliveredBefore: number;
  /** The last status write, so writes land in order. */
  saving: Promise<void>;
  /**
   * Set by a poke and cleared as the queue is read: a poke that lands while a read is under way (which may not see
   * the new notice) makes the next idle wait return at once instead of being lost.
   */
  woken: boolean;
  /** Ends the current idle wait; null while the target is not waiting. */
  wake: (() => void) | null;
}

/**
 * Store → sinks. Each target reads the notification queue from its own durable offset and moves it only after
 * its sink accepted the notices, so delivery is at least once: a crash between acceptance and the offset write
 * sends those notices again, never loses them. Temporary failures are retried with jittered backoff for as long
 * as it takes; a notice the receiver refuses for good is recorded and skipped; a target-wide failure (TLS, a
 * wrong URL or secret) stops that target where it is, so the notices wait for the operator's fix.
 */
export class Forwarder {
  readonly #deps: ForwarderDeps;
  readonly #runs: TargetRun[];
  readonly #options: ForwarderOptions;
  readonly #abort = new AbortController();
  readonly #log: Logger;
  #started = false;
  #stopped = false;
  readonly #host = `${hostname()} pid ${process.pid}`;

  constructor(deps: ForwarderDeps, targets: readonly ForwarderTarget[], options: ForwarderOptions = {}) {
    this.#deps = deps;
    this.#options = options;
    this.#log = deps.logger.child({ component: 'forwarder' });
    this.#runs = targets.map((target) => ({
      target,
      caughtUp: false,
      loop: null,
      deliveredBefore: 0,
      saving: Promise.resolve(),
      woken: false,
      wake: null,
      status: {
        target: target.sink.id,
        type: target.sink.type,
        state: 'starting',
        offset: 0,
        delivered: 0,
        failed: 0,
        retries: 0,
        attempt: 0,
        lastSuccessAt: null,
        lastError: null,
        nextAttemptAt: null,
      },
    }));
  }

  /** Starts one delivery loop per target; returns at once. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    for (const run of this.#runs) run.loop = this.#runTarget(run);
  }

  /**
   * Asks every target to read the queue now instead of at its next poll: an idle one at once, a busy one as soon
   * as it would go idle. The detector calls it after committing alerts; the poll stays for other processes' alerts.
   */
  poke(): void {
    for (const run of this.#runs) {
      run.woken = true;
      run.wake?.();
    }
  }

  status(): readonly TargetStatus[] {
    return this.#runs.map((run) => ({ ...run.status }));
  }

  /**
   * Resolves once every target has delivered all that was queued (or stopped), or when `signal` aborts; what is
   * left stays queued for the next run.
   */
  async drain(signal: AbortSignal): Promise<void> {
    for (const run of this.#runs) run.caughtUp = false;
    this.poke();
    while (!signal.aborted && this.#runs.some((run) => !run.caughtUp && run.status.state !== 'stopped')) {
      await sleep(50, signal).catch(() => undefined);
    }
  }

  /** Stops every loop after its current attempt and stops the sinks. Safe before start and twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort(new DOMException('The forwarder stopped', 'AbortError'));
    this.poke();
    await Promise.all(this.#runs.map((run) => run.loop ?? Promise.resolve()));
    // A target that ran and did not stop on an error is now without a process; its notices wait in the queue.
    for (const run of this.#runs)
      if (run.loop !== null && run.status.state !== 'stopped')
        this.#set(run, { state: 'offline', nextAttemptAt: null });
    await Promise.all(this.#runs.map((run) => run.saving));
    await Promise.all(
      this.#runs.map((run) =>
        run.target.sink
          .stop()
          .catch((error: unknown) => this.#log.warn({ err: error, target: run.status.target }, 'Sink stop failed')),
      ),
    );
  }

  async #runTarget(run: TargetRun): Promise<void> {
    const { sink } = run.target;
    const signal = this.#abort.signal;
    const log = this.#log.child({ target: sink.id, type: sink.type });
    try {
      await this.#resume(run, log);
      // The place in the queue is taken before the sink starts: a target that cannot start (a missing secret or CA
      // file) keeps it, so once fixed it delivers what was queued meanwhile instead of starting at the end.
      let offset = await this.#deps.queue.openOffset(sink.id, this.#deps.clock.now());
      // 'idle' waits for the first read to find the queue empty, so idle means nothing queued was left unread.
      this.#set(run, { offset });
      await sink.start();
      log.info({ offset }, 'Notification target started');
      let storeAttempt = 0;
      while (!signal.aborted) {
        let notices: readonly QueuedNotice[];
        run.woken = false;
        try {
          notices = await this.#deps.queue.noticesAfter(offset, READ_LIMIT);
          storeAttempt = 0;
        } catch (error) {
          storeAttempt += 1;
          log.warn({ err: error, attempt: storeAttempt }, 'Notification queue read failed');
          await sleep(backoffDelayMs(storeAttempt, this.#backoff()), signal);
          continue;
        }
        if (notices.length === 0) {
          run.caughtUp = true;
          if (run.status.state !== 'idle') this.#set(run, { state: 'idle' });
          await this.#idle(run, signal);
          continue;
        }
        offset = await this.#deliver(run, notices, log, signal);
        run.status = { ...run.status, offset };
      }
    } catch (error) {
      if (signal.aborted && (isAbortError(error) || error === signal.reason)) return;
      this.#stopTarget(run, error, log);
    }
  }

  // Delivers from the head of `notices`; returns the offset reached. Throws only what stops the target.
  async #deliver(run: TargetRun, notices: readonly QueuedNotice[], log: Logger, signal: AbortSignal): Promise<number> {
    const { sink, minSeverity } = run.target;
    const threshold = severityRank(minSeverity);
    const first = notices.findIndex((notice) => severityRank(notice.severity) >= threshold);
    const now = (): number => this.#deps.clock.now();
    if (first !== 0) {
      // Notices under the threshold are passed over; the offset records that they were seen.
      const skipped = first === -1 ? notices[notices.length - 1] : notices[first - 1];
      if (skipped !== undefined) {
        await this.#storeWrite(run, log, signal, () => this.#deps.queue.saveOffset(sink.id, skipped.seq, now()));
      }
      return skipped?.seq ?? run.status.offset;
    }
    const batch: QueuedNotice[] = [];
    for (const notice of notices) {
      if (batch.length >= sink.maxBatch || severityRank(notice.severity) < threshold) break;
      batch.push(notice);
    }
    const last = batch[batch.length - 1];
    if (last === undefined) return run.status.offset;
    if (run.status.state !== 'delivering') this.#set(run, { state: 'delivering' }, false);
    const payload = batch.map((notice) => this.#toNotice(notice));
    for (let attempt = 1; ; attempt += 1) {
      try {
        await sink.send(payload, signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!(error instanceof SinkError)) throw error;
        const lastError = { code: error.code, message: error.message, at: now() };
        if (error.retryable) {
          // Retry-After is a floor, never a shortcut: a receiver answering `Retry-After: 0` (or a date gone by) to
          // every try would otherwise be retried at once, in a loop.
          const delayMs = retryDelayMs(error, attempt, this.#backoff());
          this.#set(run, {
            state: 'retrying',
            lastError,
            retries: run.status.retries + 1,
            attempt,
            nextAttemptAt: now() + delayMs,
          });
          this.#deps.metrics.increment('notify_send_retries_total', { target: sink.id });
          log.warn({ code: error.code, attempt, delayMs, err: error }, 'Notification retry scheduled');
          await sleep(delayMs, signal);
          continue;
        }
        this.#set(run, { lastError, attempt }, false);
        if (error.details['scope'] === 'target') throw error;
        for (const notice of batch) {
          await this.#storeWrite(run, log, signal, () =>
            this.#deps.queue.recordFailure({
              target: sink.id,
              seq: notice.seq,
              alertId: notice.alertId,
              code: error.code,
              message: error.message,
              failedAt: now(),
            }),
          );
        }
        this.#set(run, {
          state: 'delivering',
          failed: run.status.failed + batch.length,
          attempt: 0,
          nextAttemptAt: null,
          offset: last.seq,
        });
        this.#deps.metrics.increment('notify_notices_failed_total', { target: sink.id }, batch.length);
        log.error(
          { code: error.code, alertIds: batch.map((notice) => notice.alertId), err: error },
          'Notification refused',
        );
        return last.seq;
      }
      await this.#storeWrite(run, log, signal, () => this.#deps.queue.saveOffset(sink.id, last.seq, now()));
      this.#set(run, {
        state: 'delivering',
        delivered: run.status.delivered + batch.length,
        attempt: 0,
        lastSuccessAt: now(),
        nextAttemptAt: null,
        offset: last.seq,
      });
      this.#deps.metrics.increment('notify_notices_delivered_total', { target: sink.id }, batch.length);
      log.debug({ notices: batch.length, seq: last.seq }, 'Notifications delivered');
      return last.seq;
    }
  }

  /**
   * A queue write after a send: the offset, or a refusal. A retryable store error (STORE_BUSY, a dropped
   * PostgreSQL connection) is retried with backoff for as long as it takes, like a failed queue read; only the
   * write is repeated, never the send. A stop in between leaves the offset where it was, so those notices are
   * sent again after the restart (at least once).
   */
  async #storeWrite(run: TargetRun, log: Logger, signal: AbortSignal, write: () => Promise<void>): Promise<void> {
    try {
      await withRetry(write, {
        policy: { ...this.#backoff(), maxAttempts: Number.POSITIVE_INFINITY },
        signal,
        onRetry: (error, attempt, delayMs) => {
          const at = this.#deps.clock.now();
          this.#set(run, {
            state: 'retrying',
            lastError: { code: error.code, message: error.message, at },
            nextAttemptAt: at + delayMs,
          });
          this.#deps.metrics.increment('notify_store_retries_total', { target: run.status.target });
          log.warn({ code: error.code, attempt, delayMs, err: error }, 'Notification queue write retry scheduled');
        },
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw error;
    }
  }

  #stopTarget(run: TargetRun, error: unknown, log: Logger): void {
    const appError = isAppError(error) ? error : undefined;
    this.#set(run, {
      state: 'stopped',
      nextAttemptAt: null,
      lastError: {
        code: appError?.code ?? 'INTERNAL',
        message: appError?.message ?? 'The notification target stopped on an unexpected error.',
        at: this.#deps.clock.now(),
      },
    });
    this.#deps.metrics.increment('notify_targets_stopped_total', { target: run.status.target });
    log.error({ err: error, code: appError?.code, hint: appError?.hint }, 'Notification target stopped');
  }

  // Carries the stored counters and last outcomes on across restarts, so the status survives the process.
  async #resume(run: TargetRun, log: Logger): Promise<void> {
    try {
      const stored = (await this.#deps.queue.targetStatuses()).find((status) => status.target === run.status.target);
      if (stored === undefined) return;
      run.deliveredBefore = stored.delivered;
      run.status = {
        ...run.status,
        retries: stored.retries,
        lastSuccessAt: stored.lastSuccessAt,
        lastError: stored.lastError,
      };
    } catch (error) {
      // The status is for the operator's eyes only; delivery goes on without the stored counters.
      this.#deps.metrics.increment('notify_status_writes_failed_total', { target: run.status.target });
      log.warn({ err: error }, 'Notification target status read failed');
    }
  }

  /**
   * Changes the target's status and, unless `store` is false, writes it for `notify status` and the HTTP API.
   * Writes are queued one after the other per target and never hold delivery up; a failed write is logged and
   * counted, and the next change writes the whole status again.
   */
  #set(run: TargetRun, change: Partial<TargetStatus>, store = true): void {
    run.status = { ...run.status, ...change };
    if (!store) return;
    const status = this.#stored(run);
    run.saving = run.saving.then(async () => {
      try {
        await this.#deps.queue.saveTargetStatus(status);
      } catch (error) {
        this.#deps.metrics.increment('notify_status_writes_failed_total', { target: status.target });
        this.#log.warn({ err: error, target: status.target }, 'Notification target status write failed');
      }
    });
  }

  #stored(run: TargetRun): NotifyTargetStatus {
    const { status } = run;
    return {
      target: status.target,
      type: status.type,
      state: status.state,
      delivered: run.deliveredBefore + status.delivered,
      retries: status.retries,
      attempt: status.attempt,
      lastSuccessAt: status.lastSuccessAt,
      lastError: status.lastError,
      nextAttemptAt: status.nextAttemptAt,
      host: this.#host,
      updatedAt: this.#deps.clock.now(),
    };
  }

  #toNotice(notice: QueuedNotice): AlertNotice {
    const path = `/alerts/${encodeURIComponent(notice.alertId)}`;
    const base = this.#options.linkBaseUrl?.replace(/\/+$/, '');
    return {
      seq: notice.seq,
      reason: notice.reason,
      queuedAt: notice.queuedAt,
      alert: { id: notice.alertId, ...notice.alert, link: base === undefined ? path : `${base}${path}` },
    };
  }

  #backoff(): BackoffPolicy {
    return this.#options.backoff ?? NOTIFY_BACKOFF;
  }

  // Waits for the next poll, or less when poked (also when the poke came during the read that found nothing).
  async #idle(run: TargetRun, signal: AbortSignal): Promise<void> {
    if (run.woken) return;
    const wake = new AbortController();
    run.wake = () => wake.abort();
    try {
      await sleep(this.#options.pollMs ?? DEFAULT_POLL_MS, AbortSignal.any([signal, wake.signal]));
    } catch (error) {
      if (signal.aborted) throw error;
    } finally {
      run.wake = null;
    }
  }
}
