import type { Migration } from './migrations.js';

/** One-time login links, kept as token hashes; the statement that redeems one sets `used_at`. */
export const MIGRATION_0004_LOGIN_LINKS: Migration = {
  version: 4,
  name: 'login-links',
  sql: `
CREATE TABLE login_links (
  token_hash text COLLATE "C" PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at bigint
);
CREATE INDEX login_links_expires ON login_links (expires_at);
CREATE INDEX login_links_user ON login_links (user_id);
`,
};
