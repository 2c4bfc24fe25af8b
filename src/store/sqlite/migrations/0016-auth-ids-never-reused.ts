import type { Migration } from './migrations.js';

/**
 * User and API key ids are never given out again. Without AUTOINCREMENT SQLite hands the next row the largest id
 * in the table plus one, so after the newest key was revoked (its row deleted) the next key got its id: a retried
 * `DELETE /api/apikeys/9` revoked the new key, and the audit trail named three keys by one keyId. PostgreSQL's
 * identity columns never go back; this makes SQLite match.
 *
 * AUTOINCREMENT is part of a table's definition, so the tables are rebuilt. `users` cannot simply be dropped:
 * the migration runs with foreign keys on and inside a transaction (where they cannot be turned off), so dropping
 * it would cascade-delete every session, API key and login link. Those three are copied aside and dropped first,
 * `users` is rebuilt with nothing pointing at it, and they are recreated with their rows.
 *
 * Each sequence starts past the largest id known to have been used. For API keys that includes the keyIds of
 * the audit trail, which outlive the revoked keys' rows; for users, the largest id still present is all there is.
 */
export const MIGRATION_0016_AUTH_IDS_NEVER_REUSED: Migration = {
  version: 16,
  name: 'auth-ids-never-reused',
  sql: `
CREATE TEMP TABLE sessions_kept AS SELECT * FROM sessions;
CREATE TEMP TABLE api_keys_kept AS SELECT * FROM api_keys;
CREATE TEMP TABLE login_links_kept AS SELECT * FROM login_links;
DROP TABLE sessions;
DROP TABLE api_keys;
DROP TABLE login_links;

CREATE TABLE users_rebuilt (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
INSERT INTO users_rebuilt (id, name, role, password_hash, created_at)
  SELECT id, name, role, password_hash, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
INSERT INTO sessions (token_hash, user_id, csrf_hash, created_at, expires_at)
  SELECT token_hash, user_id, csrf_hash, created_at, expires_at FROM sessions_kept;

CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);
INSERT INTO api_keys (id, user_id, label, key_hash, key_prefix, created_at, last_used_at)
  SELECT id, user_id, label, key_hash, key_prefix, created_at, last_used_at FROM api_keys_kept;

CREATE TABLE login_links (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX login_links_expires ON login_links (expires_at);
INSERT INTO login_links (token_hash, user_id, created_at, expires_at, used_at)
  SELECT token_hash, user_id, created_at, expires_at, used_at FROM login_links_kept;

DROP TABLE sessions_kept;
DROP TABLE api_keys_kept;
DROP TABLE login_links_kept;

-- The inserts above wrote a row for each table that had rows; these raise it to the largest id ever used.
DELETE FROM sqlite_sequence WHERE name IN ('users', 'api_keys');
INSERT INTO sqlite_sequence (name, seq) VALUES ('users', (SELECT coalesce(max(id), 0) FROM users));
INSERT INTO sqlite_sequence (name, seq) VALUES ('api_keys', max(
  (SELECT coalesce(max(id), 0) FROM api_keys),
  (SELECT coalesce(max(CAST(json_extract(details, '$.keyId') AS INTEGER)), 0) FROM audit_log
    WHERE json_valid(details))));
`,
};
