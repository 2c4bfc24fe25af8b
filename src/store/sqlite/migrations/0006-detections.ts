import type { Migration } from './migrations.js';

/**
 * Detections. Alerts group firings of one rule for one entity; their evidence is the set of event ids, so
 * raising the same firing twice adds nothing. The rule state and the detection offset (the `seq` of the last
 * evaluated event, over the insertion order of both event tiers) are written in the same transaction as the
 * alerts, so an evaluation either happened completely or not at all. History is append-only.
 */
export const MIGRATION_0006_DETECTIONS: Migration = {
  version: 6,
  name: 'detections',
  sql: `
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  title TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  technique TEXT NOT NULL,
  entity_user TEXT COLLATE NOCASE,
  entity_ip TEXT,
  entity_app TEXT COLLATE NOCASE,
  first_event_time INTEGER NOT NULL,
  last_event_time INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  summary TEXT NOT NULL,
  details TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'closed')),
  close_reason TEXT CHECK (close_reason IS NULL OR close_reason IN ('true_positive', 'benign', 'false_positive')),
  assignee TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX alerts_grouping ON alerts (rule_id, entity_key, last_event_time);
CREATE INDEX alerts_last_event ON alerts (last_event_time, id);

CREATE TABLE alert_evidence (
  alert_id TEXT NOT NULL REFERENCES alerts (id),
  event_id TEXT NOT NULL,
  event_time INTEGER NOT NULL,
  PRIMARY KEY (alert_id, event_id)
) WITHOUT ROWID;

CREATE TABLE alert_history (
  id INTEGER PRIMARY KEY,
  alert_id TEXT NOT NULL REFERENCES alerts (id),
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX alert_history_alert ON alert_history (alert_id, id);

CREATE TABLE detection_state (
  rule_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (rule_id, key)
) WITHOUT ROWID;

CREATE TABLE detection_offsets (
  name TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE rule_settings (
  rule_id TEXT PRIMARY KEY,
  enabled INTEGER CHECK (enabled IS NULL OR enabled IN (0, 1)),
  overrides TEXT NOT NULL,
  allow TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL
);
`,
};
