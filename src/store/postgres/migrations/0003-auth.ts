import type { Migration } from './migrations.js';

/**
 * zerotrail's own users, sessions, API keys, login failures and audit trail; secrets only as hashes, as in
 * the SQLite store. User names are unique without regard to (ASCII) case through an index on lower(name).
 */
export const MIGRATION_0003_AUTH: Migration = {
  version: 3,
  name: 'auth',
  sql: `
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text COLLATE "C" NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
  password_hash text NOT NULL,
  created_at bigint NOT NULL
);
CREATE UNIQUE INDEX users_name ON users (lower(name));

CREATE TABLE sessions (
  token_hash text COLLATE "C" PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_hash text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  label text NOT NULL,
  key_hash text COLLATE "C" NOT NULL UNIQUE,
  key_prefix text NOT NULL,
  created_at bigint NOT NULL,
  last_used_at bigint
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE login_failures (
  subject text COLLATE "C" NOT NULL,
  at bigint NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (subject, at);

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at bigint NOT NULL,
  actor text,
  action text NOT NULL,
  target text,
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure')),
  ip text,
  details text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
`,
};
