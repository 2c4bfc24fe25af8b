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
 * What a notification target is doing: starting, waiting for notices, sending, waiting to retry, stopped until the
 * operator fixes it, or offline (the process that delivered for it stopped cleanly; the notices wait in the queue).
 */
export const NOTIFY_TARGET_STATES = ['starting', 'idle', 'delivering', 'retrying', 'stopped', 'offline'] as const;
export type NotifyTargetState = (typeof NOTIFY_TARGET_STATES)[number];

/** What a notification target last did, as the process delivering for it wrote it (migrations 0012 / PG 0010). */
export interface NotifyTargetStatus {
  readonly target: string;
  readonly type: string;
  readonly state: NotifyTargetState;
  /** Notices delivered since the target first ran. */
  readonly delivered: number;
  /** Sends retried since the target first ran. */
  readonly retries: number;
  /** Failed tries in a row of the notices it is sending now; 0 once they are delivered. */
  readonly attempt: number;
  readonly lastSuccessAt: number | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | null;
  /** When the next try is due, while retrying. */
  readonly nextAttemptAt: number | null;
  /** The process that wrote it: host name and process id. */
  readonly host: string;
  readonly updatedAt: number;
}

/** A target's place in the queue, counted when asked. */
export interface NotifyQueueDepth {
  /** The last notice the target has passed; null when it never ran. */
  readonly offset: number | null;
  /** Notices after the offset whose severity meets the target's threshold. */
  readonly pending: number;
  /** When the oldest of them was queued. */
  readonly oldestQueuedAt: number | null;
  /** Notices the receiver refused for good. */
  readonly refused: number;
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
  /** The target's queue depth counting only the notices of `severities` (the ones it sends). */
  queueDepth(target: string, severities: readonly Severity[]): Promise<NotifyQueueDepth>;
  saveTargetStatus(status: NotifyTargetStatus): Promise<void>;
  /** Every target that ever wrote its status, by name. */
  targetStatuses(): Promise<readonly NotifyTargetStatus[]>;
  close(): Promise<void>;
}
