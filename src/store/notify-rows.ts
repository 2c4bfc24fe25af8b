import type { QueuedNotice } from './notify-queue.js';

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
