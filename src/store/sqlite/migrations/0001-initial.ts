import type { Migration } from './migrations.js';

/**
 * The first schema. `seq` is the rowid so chunked retention deletes can address rows cheaply; the event id
 * is the identity (UNIQUE), which is what makes a repeated append a no-op. Columns analysts match without
 * regard to case are declared NOCASE so that `=` and the indexes agree on it.
 */
export const MIGRATION_0001_INITIAL: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE events (
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
CREATE INDEX events_time_id ON events (time, id);
CREATE INDEX events_user_time ON events (user_name, time);
CREATE INDEX events_ip_time ON events (ip_key, time);
CREATE INDEX events_ray_id ON events (ray_id);

CREATE TABLE cursors (
  id TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE sources (
  name TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  account_id TEXT NOT NULL,
  token_ciphertext TEXT NOT NULL,
  token_last_four TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  settings TEXT NOT NULL
);

CREATE TABLE dataset_statuses (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('ok', 'retrying', 'failed')),
  last_success_at INTEGER,
  last_error_at INTEGER,
  last_error_code TEXT,
  last_error_message TEXT,
  updated_at INTEGER NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
};
