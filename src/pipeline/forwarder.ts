import type { Clock } from '../core/clock.js';
import { isAppError, SinkError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { backoffDelayMs, isAbortError, sleep, type BackoffPolicy } from '../core/retry.js';
import type { AlertNotice, Sink } from '../sinks/sink.js';
import { severityRank, type Severity } from '../store/detection-store.js';
import type { NotifyQueue, QueuedNotice } from '../store/notify-queue.js';

/** A notification target never gives up on a temporary failure; it waits at most five minutes between tries. */
export const NOTIFY_BACKOFF: BackoffPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  maxAttempts: Number.POSITIVE_INFINITY,
};
// New alerts reach their targets within a couple of seconds without the queue being read more than that.
const DEFAULT_POLL_MS = 2_000;
const READ_LIMIT = 200;

export type TargetState = 'starting' | 'idle' | 'delivering' | 'retrying' | 'stopped';

/** What an operator sees about one target. */
export interface TargetStatus {
  readonly target: string;
  readonly type: string;
  readonly state: TargetState;
  readonly offset: number;
  readonly delivered: number;
  readonly failed: number;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | null;
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
  readonly #wakers = new Set<() => void>();

  constructor(deps: ForwarderDeps, targets: readonly ForwarderTarget[], options: ForwarderOptions = {}) {
    this.#deps = deps;
    this.#options = options;
    this.#log = deps.logger.child({ component: 'forwarder' });
    this.#runs = targets.map((target) => ({
      target,
      caughtUp: false,
      loop: null,
      status: {
        target: target.sink.id,
        type: target.sink.type,
        state: 'starting',
        offset: 0,
        delivered: 0,
        failed: 0,
        lastError: null,
      },
    }));
  }

  /** Starts one delivery loop per target; returns at once. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    for (const run of this.#runs) run.loop = this.#runTarget(run);
  }

  /** Asks every idle target to read the queue now instead of at its next poll. */
  poke(): void {
    for (const wake of [...this.#wakers]) wake();
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
      await sink.start();
      let offset = await this.#deps.queue.openOffset(sink.id, this.#deps.clock.now());
      run.status = { ...run.status, offset, state: 'idle' };
      log.info({ offset }, 'Notification target started');
      let storeAttempt = 0;
      while (!signal.aborted) {
        let notices: readonly QueuedNotice[];
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
          run.status = { ...run.status, state: 'idle' };
          await this.#idle(signal);
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
      if (skipped !== undefined) await this.#deps.queue.saveOffset(sink.id, skipped.seq, now());
      return skipped?.seq ?? run.status.offset;
    }
    const batch: QueuedNotice[] = [];
    for (const notice of notices) {
      if (batch.length >= sink.maxBatch || severityRank(notice.severity) < threshold) break;
      batch.push(notice);
    }
    const last = batch[batch.length - 1];
    if (last === undefined) return run.status.offset;
    run.status = { ...run.status, state: 'delivering' };
    const payload = batch.map((notice) => this.#toNotice(notice));
    for (let attempt = 1; ; attempt += 1) {
      try {
        await sink.send(payload, signal);
        await this.#deps.queue.saveOffset(sink.id, last.seq, now());
        run.status = { ...run.status, state: 'delivering', delivered: run.status.delivered + batch.length };
        this.#deps.metrics.increment('notify_notices_delivered_total', { target: sink.id }, batch.length);
        log.debug({ notices: batch.length, seq: last.seq }, 'Notifications delivered');
        return last.seq;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!(error instanceof SinkError)) throw error;
        run.status = { ...run.status, lastError: { code: error.code, message: error.message, at: now() } };
        if (error.retryable) {
          const retryAfterMs = error.details['retryAfterMs'];
          const delayMs = typeof retryAfterMs === 'number' ? retryAfterMs : backoffDelayMs(attempt, this.#backoff());
          run.status = { ...run.status, state: 'retrying' };
          this.#deps.metrics.increment('notify_send_retries_total', { target: sink.id });
          log.warn({ code: error.code, attempt, delayMs, err: error }, 'Notification retry scheduled');
          await sleep(delayMs, signal);
          continue;
        }
        if (error.details['scope'] === 'target') throw error;
        for (const notice of batch) {
          await this.#deps.queue.recordFailure({
            target: sink.id,
            seq: notice.seq,
            alertId: notice.alertId,
            code: error.code,
            message: error.message,
            failedAt: now(),
          });
        }
        run.status = { ...run.status, failed: run.status.failed + batch.length };
        this.#deps.metrics.increment('notify_notices_failed_total', { target: sink.id }, batch.length);
        log.error(
          { code: error.code, alertIds: batch.map((notice) => notice.alertId), err: error },
          'Notification refused',
        );
        return last.seq;
      }
    }
  }

  #stopTarget(run: TargetRun, error: unknown, log: Logger): void {
    const appError = isAppError(error) ? error : undefined;
    run.status = {
      ...run.status,
      state: 'stopped',
      lastError: {
        code: appError?.code ?? 'INTERNAL',
        message: appError?.message ?? 'The notification target stopped on an unexpected error.',
        at: this.#deps.clock.now(),
      },
    };
    this.#deps.metrics.increment('notify_targets_stopped_total', { target: run.status.target });
    log.error({ err: error, code: appError?.code, hint: appError?.hint }, 'Notification target stopped');
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

  // Waits for the next poll, or less when poked.
  async #idle(signal: AbortSignal): Promise<void> {
    const wake = new AbortController();
    const waker = (): void => wake.abort();
    this.#wakers.add(waker);
    try {
      await sleep(this.#options.pollMs ?? DEFAULT_POLL_MS, AbortSignal.any([signal, wake.signal]));
    } catch (error) {
      if (signal.aborted) throw error;
    } finally {
      this.#wakers.delete(waker);
    }
  }
}
