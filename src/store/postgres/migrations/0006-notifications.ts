import type { Migration } from './migrations.js';

// An alert that keeps growing notifies again when its count reaches one of these; each step is ten times the last.
const GROWTH_STEPS = [10, 100, 1_000, 10_000, 100_000, 1_000_000];
const SEVERITY_RANK = (column: string): string =>
  `(CASE ${column} WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 ELSE 3 END)`;

/**
 * Notifications, as in the SQLite store: a trigger queues a notice in the transaction that creates an alert,
 * raises its severity or grows its count past a power of ten. A sequence alone is not commit-ordered across
 * nodes, so the trigger takes a transaction-scoped advisory lock before numbering: a notice numbered later is
 * also committed later, and a target reading "after seq N" never skips one.
 */
export const MIGRATION_0006_NOTIFICATIONS: Migration = {
  version: 6,
  name: 'notifications',
  sql: `
CREATE TABLE notify_queue (
  seq bigint PRIMARY KEY,
  alert_id text COLLATE "C" NOT NULL REFERENCES alerts (id),
  reason text NOT NULL CHECK (reason IN ('created', 'escalated', 'grew')),
  severity text NOT NULL,
  event_count integer NOT NULL,
  queued_at bigint NOT NULL
);
CREATE SEQUENCE notify_seq;
CREATE TABLE notify_offsets (
  target text COLLATE "C" PRIMARY KEY,
  seq bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE TABLE notify_failures (
  target text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  alert_id text COLLATE "C" NOT NULL,
  code text NOT NULL,
  message text NOT NULL,
  failed_at bigint NOT NULL,
  PRIMARY KEY (target, seq)
);
CREATE FUNCTION notify_alert_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  why text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    why := 'created';
  ELSIF ${SEVERITY_RANK('NEW.severity')} > ${SEVERITY_RANK('OLD.severity')} THEN
    why := 'escalated';
  ELSIF OLD.event_count > 0
    AND (${GROWTH_STEPS.map((step) => `(OLD.event_count < ${step} AND NEW.event_count >= ${step})`).join(' OR ')}) THEN
    why := 'grew';
  ELSE
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('zerotrail_notify_queue'));
  INSERT INTO notify_queue (seq, alert_id, reason, severity, event_count, queued_at)
  VALUES (nextval('notify_seq'), NEW.id, why, NEW.severity, NEW.event_count, NEW.updated_at);
  RETURN NULL;
END;
$$;
CREATE TRIGGER notify_alert_changed AFTER INSERT OR UPDATE OF severity, event_count ON alerts
  FOR EACH ROW EXECUTE FUNCTION notify_alert_changed();
`,
};
