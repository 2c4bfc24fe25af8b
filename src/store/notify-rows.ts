import type { NotifyTargetState, NotifyTargetStatus, QueuedNotice } from './notify-queue.js';

/** A queue row joined with its alert, as both stores select it. */
export interface NoticeRow {
  readonly seq: number;
  readonly alert_id: string;
  readonly reason: QueuedNotice['reason'];
  readonly queued_severity: QueuedNotice['severity'];
  readonly queued_at: number;
  readonly rule_id: string;
  readonly title: string;
  readonly severity: QueuedNotice['severity'];
  readonly technique: string;
  readonly entity_user: string | null;
  readonly entity_ip: string | null;
  readonly entity_app: string | null;
  readonly summary: string;
  readonly first_event_time: number;
  readonly last_event_time: number;
  readonly event_count: number;
  readonly status: QueuedNotice['alert']['status'];
}

export function toQueuedNotice(row: NoticeRow): QueuedNotice {
  return {
    seq: Number(row.seq),
    alertId: row.alert_id,
    reason: row.reason,
    severity: row.queued_severity,
    queuedAt: Number(row.queued_at),
    alert: {
      ruleId: row.rule_id,
      title: row.title,
      severity: row.severity,
      technique: row.technique,
      entity: { user: row.entity_user, ip: row.entity_ip, app: row.entity_app },
      summary: row.summary,
      firstEventTime: Number(row.first_event_time),
      lastEventTime: Number(row.last_event_time),
      count: Number(row.event_count),
      status: row.status,
    },
  };
}

/** A `notify_target_status` row as both stores select it (PostgreSQL bigints arrive as text). */
export interface TargetStatusRow {
  readonly target: string;
  readonly type: string;
  readonly state: NotifyTargetState;
  readonly delivered: number | string;
  readonly retries: number | string;
  readonly attempt: number | string;
  readonly last_success_at: number | string | null;
  readonly last_error_code: string | null;
  readonly last_error_message: string | null;
  readonly last_error_at: number | string | null;
  readonly next_attempt_at: number | string | null;
  readonly host: string;
  readonly updated_at: number | string;
}

const nullableNumber = (value: number | string | null): number | null => (value === null ? null : Number(value));

export function toTargetStatus(row: TargetStatusRow): NotifyTargetStatus {
  return {
    target: row.target,
    type: row.type,
    state: row.state,
    delivered: Number(row.delivered),
    retries: Number(row.retries),
    attempt: Number(row.attempt),
    lastSuccessAt: nullableNumber(row.last_success_at),
    lastError:
      row.last_error_code === null
        ? null
        : {
            code: row.last_error_code,
            message: row.last_error_message ?? '',
            at: Number(row.last_error_at ?? 0),
          },
    nextAttemptAt: nullableNumber(row.next_attempt_at),
    host: row.host,
    updatedAt: Number(row.updated_at),
  };
}

/** The values of a status row in column order: target, type, state, delivered, retries, attempt, … updated_at. */
export function targetStatusValues(status: NotifyTargetStatus): unknown[] {
  return [
    status.target,
    status.type,
    status.state,
    status.delivered,
    status.retries,
    status.attempt,
    status.lastSuccessAt,
    status.lastError?.code ?? null,
    status.lastError?.message ?? null,
    status.lastError?.at ?? null,
    status.nextAttemptAt,
    status.host,
    status.updatedAt,
  ];
}

export const TARGET_STATUS_COLUMNS =
  'target, type, state, delivered, retries, attempt, last_success_at, last_error_code, last_error_message, ' +
  'last_error_at, next_attempt_at, host, updated_at';
