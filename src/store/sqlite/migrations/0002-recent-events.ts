import type { Migration } from './migrations.js';

/**
 * The write tier and the bodies. Appends land in `events_recent`, whose only index is the unique id, and are
 * moved into `events` in large ordered transactions; that way each secondary index page of `events` is
 * rewritten once per move rather than once per batch. Columns, collations and checks match `events` exactly,
 * so a row reads, filters and fails the same way in either table. An event is in exactly one of the two.
 *
 * The JSON of an event (about 1.3 KB, most of its size) lives in `event_bodies` under the event's `seq`,
 * written once by the append and never moved: the tiers hold only the small searchable columns, so a move
 * copies small rows and the bodies are not rewritten by it. Every row of either tier has exactly one body
 * with its `seq`; `seq` is handed out above the largest body's, so it is unique across both tiers.
 */
export const MIGRATION_0002_RECENT_EVENTS: Migration = {
  version: 2,
  name: 'recent-events',
  sql: `
CREATE TABLE event_bodies (
  seq INTEGER PRIMARY KEY,
  ocsf TEXT NOT NULL,
  raw TEXT NOT NULL
);
INSERT INTO event_bodies (seq, ocsf, raw) SELECT seq, ocsf, raw FROM events;
ALTER TABLE events DROP COLUMN ocsf;
ALTER TABLE events DROP COLUMN raw;

CREATE TABLE events_recent (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  time INTEGER NOT NULL,
  source TEXT NOT NULL,
  account_id TEXT NOT NULL,
  dataset TEXT NOT NULL,
  class_uid INTEGER NOT NULL,
  activity TEXT NOT NULL,
  outcome TEXT NOT NULL COLLATE NOCASE CHECK (outcome IN ('success', 'failure', 'unknown')),
  user_name TEXT COLLATE NOCASE,
  src_ip TEXT,
  ip_key TEXT CHECK (ip_key IS NULL OR length(ip_key) = 32),
  country TEXT COLLATE NOCASE,
  app TEXT COLLATE NOCASE,
  app_uid TEXT,
  idp TEXT COLLATE NOCASE,
  ray_id TEXT
);
`,
};
