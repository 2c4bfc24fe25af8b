import type { Migration } from './migrations.js';

/**
 * Detections. Every stored event gets a `seq` in `event_ids`, handed out in commit order (the append takes a
 * lock for it just before committing), so an evaluator reading "after seq N" never skips an event another
 * node commits later with a smaller number. Alerts, evidence, history, rule state, offsets and rule settings
 * mirror the SQLite store's; the offset row is locked by the commit that moves it.
 */
export const MIGRATION_0005_DETECTIONS: Migration = {
  version: 5,
  name: 'detections',
  sql: `
CREATE SEQUENCE event_seq;
ALTER TABLE event_ids ADD COLUMN seq bigint;
UPDATE event_ids SET seq = numbered.n
  FROM (SELECT id, row_number() OVER (ORDER BY time, id) AS n FROM event_ids) AS numbered
  WHERE event_ids.id = numbered.id;
SELECT setval('event_seq', coalesce((SELECT max(seq) FROM event_ids), 0) + 1, false);
CREATE UNIQUE INDEX event_ids_seq ON event_ids (seq);

CREATE TABLE alerts (
  id text COLLATE "C" PRIMARY KEY,
  rule_id text COLLATE "C" NOT NULL,
  entity_key text COLLATE "C" NOT NULL,
  title text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  technique text NOT NULL,
  entity_user text,
  entity_ip text,
  entity_app text,
  first_event_time bigint NOT NULL,
  last_event_time bigint NOT NULL,
  event_count integer NOT NULL,
  summary text NOT NULL,
  details text NOT NULL,
  status text NOT NULL CHECK (status IN ('open', 'acknowledged', 'closed')),
  close_reason text CHECK (close_reason IS NULL OR close_reason IN ('true_positive', 'benign', 'false_positive')),
  assignee text,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX alerts_grouping ON alerts (rule_id, entity_key, last_event_time);
CREATE INDEX alerts_last_event ON alerts (last_event_time, id);

CREATE TABLE alert_evidence (
  alert_id text COLLATE "C" NOT NULL REFERENCES alerts (id),
  event_id text COLLATE "C" NOT NULL,
  event_time bigint NOT NULL,
  PRIMARY KEY (alert_id, event_id)
);

CREATE TABLE alert_history (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id text COLLATE "C" NOT NULL REFERENCES alerts (id),
  at bigint NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  details text NOT NULL
);
CREATE INDEX alert_history_alert ON alert_history (alert_id, id);

CREATE TABLE detection_state (
  rule_id text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  value text NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (rule_id, key)
);

CREATE TABLE detection_offsets (
  name text COLLATE "C" PRIMARY KEY,
  seq bigint NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE rule_settings (
  rule_id text COLLATE "C" PRIMARY KEY,
  enabled boolean,
  overrides text NOT NULL,
  allow text NOT NULL,
  updated_at bigint NOT NULL,
  updated_by text NOT NULL
);
`,
};
