import type { Migration } from './migrations.js';

/**
 * The event store for volume. `events` is range-partitioned on the event time (epoch ms), one partition per
 * UTC month, created on demand before the append that needs it; retention drops whole months and deletes rows
 * only in the month the cut-off falls in. A unique index on a partitioned table must contain the partition
 * key, so (id, time) would not stop the same id arriving with another time; `event_ids` is therefore the one
 * place an id is unique, claimed in the append's transaction before the row goes into `events`. It holds
 * only the id and its time, so its retention delete stays small beside the partitions it follows.
 *
 * Text columns use the "C" collation: ordering and keyset paging compare bytes, as SQLite's BINARY does.
 * Fields matched without regard to case are compared through lower(), which folds ASCII only under "C",
 * as SQLite's NOCASE does; the user index is on that expression so the timeline uses it.
 * The OCSF and raw bodies are JSON text rather than jsonb: jsonb refuses \u0000 and lone surrogates, which
 * collected records may contain and must come back exactly.
 */
export const MIGRATION_0001_INITIAL: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE event_ids (
  id text COLLATE "C" PRIMARY KEY,
  time bigint NOT NULL
);
CREATE INDEX event_ids_time ON event_ids (time);

CREATE TABLE events (
  id text COLLATE "C" NOT NULL,
  time bigint NOT NULL,
  source text COLLATE "C" NOT NULL,
  account_id text COLLATE "C" NOT NULL,
  dataset text COLLATE "C" NOT NULL,
  class_uid integer NOT NULL,
  activity text COLLATE "C" NOT NULL,
  outcome text COLLATE "C" NOT NULL CHECK (lower(outcome) IN ('success', 'failure', 'unknown')),
  user_name text COLLATE "C",
  src_ip text COLLATE "C",
  ip_key text COLLATE "C" CHECK (ip_key IS NULL OR length(ip_key) = 32),
  country text COLLATE "C",
  app text COLLATE "C",
  app_uid text COLLATE "C",
  idp text COLLATE "C",
  ray_id text COLLATE "C",
  ocsf text NOT NULL,
  raw text NOT NULL
) PARTITION BY RANGE (time);
CREATE INDEX events_time_id ON events (time, id);
CREATE INDEX events_user_time ON events (lower(user_name), time);
CREATE INDEX events_ip_time ON events (ip_key, time);
CREATE INDEX events_ray_id ON events (ray_id);

CREATE TABLE cursors (
  id text COLLATE "C" PRIMARY KEY,
  value text NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE sources (
  name text COLLATE "C" PRIMARY KEY,
  type text NOT NULL,
  account_id text NOT NULL,
  token_ciphertext text NOT NULL,
  token_last_four text NOT NULL,
  created_at bigint NOT NULL,
  settings text NOT NULL
);

CREATE TABLE dataset_statuses (
  id text COLLATE "C" PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('ok', 'retrying', 'failed')),
  last_success_at bigint,
  last_error_at bigint,
  last_error_code text,
  last_error_message text,
  updated_at bigint NOT NULL
);

CREATE TABLE settings (
  key text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);
`,
};
