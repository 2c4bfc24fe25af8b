import type { Migration } from './migrations.js';

/**
 * zerotrail's own users, sessions, API keys, login failures and audit trail. Secrets are stored only as
 * hashes: an argon2id hash for passwords, SHA-256 for the random session and API key tokens (they carry 256
 * bits of entropy, so a slow hash would add nothing but latency on every request). Login failures are rows,
 * not counters, so a window slides and survives a restart.
 */
export const MIGRATION_0004_AUTH: Migration = {
  version: 4,
  name: 'auth',
  sql: `
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);

CREATE TABLE login_failures (
  subject TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (subject, at);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT,
  action TEXT NOT NULL,
  target TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  ip TEXT,
  details TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
`,
};
