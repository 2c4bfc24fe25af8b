import type { Migration } from './migrations.js';

// An alert that keeps growing notifies again when its count reaches one of these; each step is ten times the last.
const GROWTH_STEPS = [10, 100, 1_000, 10_000, 100_000, 1_000_000];
const SEVERITY_RANK = (column: string): string =>
  `(CASE ${column} WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 ELSE 3 END)`;

/**
 * Notifications. Triggers queue a notice in the same transaction that creates an alert, raises its severity or
 * grows its count past a power of ten, so a crash can never leave an alert without its notice. The queue's
 * `seq` grows in commit order (SQLite has one writer), and each notification target keeps its own offset into it,
 * so a target that is down holds back only itself. Notices a target refused for good are kept in
 * `notify_failures` with the reason. The count starts at 0 on insert, so the first update of a new alert is not
 * a growth.
 */
export const MIGRATION_0009_NOTIFICATIONS: Migration = {
  version: 9,
  name: 'notifications',
  sql: `
CREATE TABLE notify_queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id TEXT NOT NULL REFERENCES alerts (id),
  reason TEXT NOT NULL CHECK (reason IN ('created', 'escalated', 'grew')),
  severity TEXT NOT NULL,
  event_count INTEGER NOT NULL,
  queued_at INTEGER NOT NULL
);
CREATE TABLE notify_offsets (
  target TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE notify_failures (
  target TEXT NOT NULL,
  seq INTEGER NOT NULL,
  alert_id TEXT NOT NULL,
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  failed_at INTEGER NOT NULL,
  PRIMARY KEY (target, seq)
);
CREATE TRIGGER notify_alert_created AFTER INSERT ON alerts BEGIN
  INSERT INTO notify_queue (alert_id, reason, severity, event_count, queued_at)
  VALUES (new.id, 'created', new.severity, new.event_count, new.updated_at);
END;
CREATE TRIGGER notify_alert_escalated AFTER UPDATE OF severity ON alerts
WHEN ${SEVERITY_RANK('new.severity')} > ${SEVERITY_RANK('old.severity')} BEGIN
  INSERT INTO notify_queue (alert_id, reason, severity, event_count, queued_at)
  VALUES (new.id, 'escalated', new.severity, new.event_count, new.updated_at);
END;
CREATE TRIGGER notify_alert_grew AFTER UPDATE OF event_count ON alerts
WHEN old.event_count > 0 AND ${SEVERITY_RANK('new.severity')} <= ${SEVERITY_RANK('old.severity')}
  AND (${GROWTH_STEPS.map((step) => `(old.event_count < ${step} AND new.event_count >= ${step})`).join(' OR ')}) BEGIN
  INSERT INTO notify_queue (alert_id, reason, severity, event_count, queued_at)
  VALUES (new.id, 'grew', new.severity, new.event_count, new.updated_at);
END;
`,
};
