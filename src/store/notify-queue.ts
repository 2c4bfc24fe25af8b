import type { AlertEntity, AlertStatus, Severity } from './detection-store.js';

/** One queued notice with the alert as it stands now. */
export interface QueuedNotice {
  readonly seq: number;
  readonly alertId: string;
  readonly reason: 'created' | 'escalated' | 'grew';
  /** The alert's severity when the notice was queued: the threshold applies to it. */
  readonly severity: Severity;
  readonly queuedAt: number;
  readonly alert: {
    readonly ruleId: string;
    readonly title: string;
    readonly severity: Severity;
    readonly technique: string;
    readonly entity: AlertEntity;
    readonly summary: string;
    readonly firstEventTime: number;
    readonly lastEventTime: number;
    readonly count: number;
    readonly status: AlertStatus;
  };
}

export interface NotifyFailure {
  readonly target: string;
  readonly seq: number;
  readonly alertId: string;
  readonly code: string;
  readonly message: string;
  readonly failedAt: number;
}

/**
 * The notification queue: notices the store queues in the transaction that changes an alert (migrations
 * 0009 / PostgreSQL 0006), read by each target from its own offset.
 */
export interface NotifyQueue {
  /**
   * The target's offset. A target seen for the first time starts at the end of the queue, so adding one does
   * not replay every past alert to it.
   */
  openOffset(target: string, now: number): Promise<number>;
  noticesAfter(afterSeq: number, limit: number): Promise<readonly QueuedNotice[]>;
  saveOffset(target: string, seq: number, now: number): Promise<void>;
  /** Records that the target refused the notice for good and moves its offset past it, in one transaction. */
  recordFailure(failure: NotifyFailure): Promise<void>;
  failures(target?: string): Promise<readonly NotifyFailure[]>;
  /** How many queued notices lie after the target's offset (before its severity threshold). */
  pending(target: string): Promise<number>;
  close(): Promise<void>;
}
