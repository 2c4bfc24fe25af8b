import { SEVERITIES, severityRank, type Severity } from '../store/detection-store.js';
import type { NotifyQueue, NotifyTargetState } from '../store/notify-queue.js';

/** A configured notification target, as the status view needs it. */
export interface NotifyTargetSetting {
  readonly name: string;
  readonly type: string;
  readonly minSeverity: Severity;
}

/** One target's status for the operator: its stored state and counters, and its queue counted now. */
export interface NotifyTargetView {
  readonly target: string;
  readonly type: string;
  /** False for a target that ran once but is no longer in the configuration. */
  readonly configured: boolean;
  readonly minSeverity: Severity | null;
  /** `never_started` until a process has delivered for the target. */
  readonly state: NotifyTargetState | 'never_started';
  /** Notices waiting for the target: after its offset, at or above its threshold. */
  readonly queued: number;
  readonly oldestQueuedAt: number | null;
  readonly offset: number | null;
  readonly delivered: number;
  /** Notices the receiver refused for good; they are skipped, the alerts stay in zerotrail. */
  readonly refused: number;
  readonly retries: number;
  /** Failed tries in a row of the notices being sent now. */
  readonly attempt: number;
  readonly lastSuccessAt: number | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | null;
  readonly nextAttemptAt: number | null;
  /** The process that last wrote the status (host and pid), and when. */
  readonly reportedBy: string | null;
  readonly updatedAt: number | null;
}

/**
 * The status of every configured target and of every target that ran before, configured ones first in
 * configuration order. Works from any process: the delivering process writes the state, the queue is counted here.
 */
export async function notifyTargetViews(
  queue: NotifyQueue,
  targets: readonly NotifyTargetSetting[],
): Promise<NotifyTargetView[]> {
  const stored = new Map((await queue.targetStatuses()).map((status) => [status.target, status]));
  const configured = new Set(targets.map((target) => target.name));
  const rows: { name: string; type: string; minSeverity: Severity | null }[] = [
    ...targets.map((target) => ({ name: target.name, type: target.type, minSeverity: target.minSeverity })),
    ...[...stored.values()]
      .filter((status) => !configured.has(status.target))
      .map((status) => ({ name: status.target, type: status.type, minSeverity: null })),
  ];
  const views: NotifyTargetView[] = [];
  for (const row of rows) {
    const status = stored.get(row.name);
    const floor = row.minSeverity === null ? 0 : severityRank(row.minSeverity);
    const severities = SEVERITIES.filter((severity) => severityRank(severity) >= floor);
    const depth = await queue.queueDepth(row.name, severities);
    views.push({
      target: row.name,
      type: row.type,
      configured: configured.has(row.name),
      minSeverity: row.minSeverity,
      state: status?.state ?? 'never_started',
      queued: depth.pending,
      oldestQueuedAt: depth.oldestQueuedAt,
      offset: depth.offset,
      delivered: status?.delivered ?? 0,
      refused: depth.refused,
      retries: status?.retries ?? 0,
      attempt: status?.attempt ?? 0,
      lastSuccessAt: status?.lastSuccessAt ?? null,
      lastError: status?.lastError ?? null,
      nextAttemptAt: status?.nextAttemptAt ?? null,
      reportedBy: status?.host ?? null,
      updatedAt: status?.updatedAt ?? null,
    });
  }
  return views;
}
