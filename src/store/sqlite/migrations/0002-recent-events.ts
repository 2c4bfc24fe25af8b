import type { Migration } from './migrations.js';

/**
 * The write tier. Appends land in `events_recent`, whose only index is the unique id, and are moved into
 * `events` in large ordered transactions; that way each secondary index page of `events` is rewritten once
 * per move rather than once per batch. Columns, collations and checks match `events` exactly, so a row
 * reads, filters and fails the same way in either table. An event is in exactly one of the two tables.
 */
export const MIGRATION_0002_RECENT_EVENTS: Migration = {
  version: 2,
  name: 'recent-events',
  sql: `
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
  ray_id TEXT,
  ocsf TEXT NOT NULL,
  raw TEXT NOT NULL
);
`,
};
